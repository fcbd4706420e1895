/** Private PostgreSQL clusters for fault tests; the code is shared with the benches (bench/lib). */
export * from '../../bench/lib/pg-server.js';
