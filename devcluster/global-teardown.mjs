export default async function globalTeardown() {
  await globalThis.__metallbDyn6Harness?.teardown();
}
