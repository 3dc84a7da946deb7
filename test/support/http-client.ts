/** A plain HTTP call as a router's hook, a scheduler or a probe would make it. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: init.method ?? 'POST',
    headers: init.headers ?? {},
    body: init.body ?? null,
  });
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: response.status, headers: response.headers, json };
}

export const TEST_HTTP_TOKEN = 'test-token-0123456789abcdef';
export const bearer = (token = TEST_HTTP_TOKEN) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});
