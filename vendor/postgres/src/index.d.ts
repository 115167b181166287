// Types of the vendored driver: those of the npm package it was copied from (same API).
import postgres from 'postgres';
export default postgres;
