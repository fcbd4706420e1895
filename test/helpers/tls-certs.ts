/** Throw-away CA and server certificates for TLS tests; the code is shared with the benches (bench/faults). */
export * from '../../bench/faults/tls-certs.js';
