import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { execute, GraphQLError, printSchema, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/** Apollo's executor hook, as its gateway option types it. */
type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewayExecutor = Awaited<ReturnType<GatewayInterface['load']>>['executor'];

/** Runs of one operation by graphql-js before it is compiled. */
const COMPILE_AFTER_RUNS = 2;

/**
 * Repeated operations executed by graphql-jit instead of graphql-js: an operation (document +
 * operation name) that has run COMPILE_AFTER_RUNS times is compiled into a function that resolves its
 * fields without graphql-js's per-field bookkeeping (resolve-info objects are made only for resolvers
 * that take them). Until then, and for operations that are never repeated (one-off queries in the
 * Sandbox, or a client sending a new document with every request to make the server compile), graphql-js
 * runs them: compiling costs far more than one execution. The schema's resolvers run as they are, the
 * permission middleware included. Apollo parses, validates, applies its plugins and formats errors as
 * before: graphql-jit plugs in through Apollo's executor hook, which Apollo exposes as a "gateway"
 * that serves one fixed schema.
 */
export function compiledExecution(schema: GraphQLSchema): GatewayInterface {
  // Apollo keeps parsed documents in its LRU (by query text), so the same document object, and so the
  // same operation node, comes back for the same text; a document dropped from that LRU drops its runs
  // and compiled operations with it. Per operation: its runs so far, its compiled form, or false when
  // graphql-jit can't compile it.
  const operations = new WeakMap<OperationDefinitionNode, CompiledQuery | number | false>();
  const executor: GatewayExecutor = async ({ document, operation: resolved, request, context }) => {
    // The name the client sent: graphql-js refuses one that names no operation, as Apollo expects
    // (OPERATION_RESOLUTION_FAILURE). The context's `operationName` is null then, and `operation`
    // unset (typed as always set): by either, a document with one operation would run it, a mutation
    // included, over GET too.
    const interpreted = () => execute({ schema, document, operationName: request.operationName, contextValue: context, variableValues: request.variables });
    const operation = resolved as OperationDefinitionNode | undefined;
    if (!operation) return interpreted();
    let query = operations.get(operation) ?? 0;
    if (query === false) return interpreted();
    if (typeof query === 'number') {
      if (query + 1 < COMPILE_AFTER_RUNS) {
        operations.set(operation, query + 1);
        return interpreted();
      }
      const result = compileQuery(schema, document, operation.name?.value, { disablingCapturingStackErrors: true });
      if (!isCompiledQuery(result)) {
        operations.set(operation, false); // what graphql-jit cannot compile, graphql-js runs, without trying again
        return interpreted();
      }
      operations.set(operation, (query = result));
    }
    const result = await query.query(undefined, context, request.variables ?? {});
    // No data at all: the variables were refused before anything ran. graphql-js answers that case
    // with the errors Apollo classifies (BAD_USER_INPUT, the variable's path); it runs nothing either.
    if (result.data === undefined) return interpreted();
    return result.errors ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
  };
  return {
    load: async () => ({ schema, executor }),
    onSchemaLoadOrUpdate: (callback) => {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    stop: async () => {},
  };
}

/**
 * graphql-jit's errors are its own GraphQLError (for older graphql versions): `extensions` is
 * undefined when the original error has none, which Apollo's error formatting does not expect. The
 * same error as graphql-js makes it: message, locations, path, original error and its extensions.
 */
function asGraphQLError(e: GraphQLError): GraphQLError {
  const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: e.extensions ?? undefined });
  (error as { locations: GraphQLError['locations'] }).locations = e.locations;
  return error;
}
