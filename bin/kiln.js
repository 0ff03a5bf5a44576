#!/usr/bin/env node
// kiln's executable: runs the compiled CLI (npm's `prepare` compiles src/ to dist/).
import { main } from '../dist/cli/main.js';
process.exitCode = await main(process.argv.slice(2));
