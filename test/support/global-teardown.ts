export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __stopServers?: () => Promise<void> }).__stopServers?.();
}
