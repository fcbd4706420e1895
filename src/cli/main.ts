#!/usr/bin/env node
/**
 * The `conductor` command. See `conductor --help`.
 * @packageDocumentation
 */
import { runCli } from './program.js';

await runCli(process.argv.slice(2));
