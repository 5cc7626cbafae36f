/**
 * The start-up configuration error shared by the environment and the call-center file, and the one
 * formatter of zod issues into lines that each start with the setting or the path in the file.
 * Imports nothing of ours.
 */
import type { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One line per issue: `where: message`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], where: (path: PropertyKey[]) => string): string {
  return issues.map((i) => `${where(i.path)}: ${i.message}`).join('\n');
}
