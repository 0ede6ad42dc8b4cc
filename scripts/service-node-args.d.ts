/** The words between `node` and the entry in package.json's start script (the service's node options). */
export function serviceNodeArgs(root?: string): string[];
