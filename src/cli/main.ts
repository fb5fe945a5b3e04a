#!/usr/bin/env node
/** The `skipstudio` command: the program of program.ts, run on this process's arguments. */
import { program } from './program.js';

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`skipstudio: ${(error as Error).message}`);
  process.exit(1);
}
