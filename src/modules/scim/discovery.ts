/**
 * SCIM discovery (RFC 7644 §4, RFC 7643 §5–7): what identity providers read to learn what this
 * endpoint speaks before they provision (Entra ID's and Okta's validators fetch all three). The
 * schemas list only the attributes Tessera stores; others in a request are ignored (users.ts).
 */
import { MAX_COUNT, SCHEMAS, type ListResponse } from './protocol.js';

const CORE = {
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: [CORE.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: 'A SCIM token created by a tenant ADMIN (createScimToken)', primary: true }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

type Attribute = {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'reference';
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable';
  returned: 'default' | 'always';
  uniqueness: 'none' | 'server';
  description: string;
  subAttributes?: Attribute[];
  referenceTypes?: string[];
};

const attr = (name: string, description: string, more: Partial<Attribute> = {}): Attribute => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  description,
  ...more,
});

const RESOURCES = [
  {
    id: 'User',
    endpoint: '/Users',
    schema: SCHEMAS.user,
    description: 'A person of the tenant (userName is the email they sign in with)',
    attributes: [
      attr('userName', 'The email address the person signs in with; unique in the tenant', { required: true, uniqueness: 'server' }),
      attr('externalId', 'The directory’s own id', { caseExact: true }),
      attr('displayName', 'The name shown in Tessera'),
      attr('name', 'The name’s parts', {
        type: 'complex',
        subAttributes: [attr('formatted', 'The full name'), attr('givenName', 'Given name'), attr('familyName', 'Family name')],
      }),
      attr('emails', 'The work email (the same as userName)', {
        type: 'complex',
        multiValued: true,
        subAttributes: [attr('value', 'The address'), attr('type', 'work'), attr('primary', 'Always true', { type: 'boolean' })],
      }),
      attr('active', 'false deactivates the user and ends their sessions at once', { type: 'boolean' }),
      attr('roles', 'The tenant role (set in Tessera or by SSO role mapping, not by the directory)', {
        type: 'complex',
        multiValued: true,
        mutability: 'readOnly',
        subAttributes: [attr('value', 'OWNER, ADMIN, MEMBER or VIEWER', { mutability: 'readOnly' })],
      }),
    ],
  },
  {
    id: 'Group',
    endpoint: '/Groups',
    schema: SCHEMAS.group,
    description: 'An organization of the tenant',
    attributes: [
      attr('displayName', 'The organization’s name; unique in the tenant', { required: true, uniqueness: 'server' }),
      attr('externalId', 'The directory’s own id', { caseExact: true }),
      attr('members', 'Users of the tenant, as organization members', {
        type: 'complex',
        multiValued: true,
        subAttributes: [
          attr('value', 'The user’s id', { caseExact: true, mutability: 'immutable' }),
          attr('display', 'The user’s email', { mutability: 'readOnly' }),
          attr('$ref', 'The user’s URI', { type: 'reference', referenceTypes: ['User'], mutability: 'immutable' }),
        ],
      }),
    ],
  },
] as const;

const list = <T>(items: T[]): ListResponse<T> => ({ schemas: [SCHEMAS.list], totalResults: items.length, startIndex: 1, itemsPerPage: items.length, Resources: items });

export const resourceTypes = (baseUrl: string) =>
  RESOURCES.map((r) => ({
    schemas: [CORE.resourceType],
    id: r.id,
    name: r.id,
    endpoint: r.endpoint,
    description: r.description,
    schema: r.schema,
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${r.id}` },
  }));

export const schemas = (baseUrl: string) =>
  RESOURCES.map((r) => ({
    schemas: [CORE.schema],
    id: r.schema,
    name: r.id,
    description: r.description,
    attributes: r.attributes,
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${r.schema}` },
  }));

export const listResourceTypes = (baseUrl: string) => list(resourceTypes(baseUrl));
export const listSchemas = (baseUrl: string) => list(schemas(baseUrl));
