/**
 * Text as skipstudio prints it: counts, percentages, durations, FLOPs, text
 * tables and shell commands. Below every layer that prints; imports nothing
 * of the project.
 */
export * from './format.js';
