import { createHmac } from 'node:crypto';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, also OpenAI's): HMAC-SHA256 of
 * `${id}.${timestamp}.${body}`, base64, sent as `webhook-signature: v1,<sig>` beside
 * `webhook-id` and `webhook-timestamp`. A "whsec_" secret is base64 after the prefix; any other
 * is used as its UTF-8 bytes. Receivers verify with any Standard Webhooks library (the openai
 * SDK's `webhooks.unwrap` included) and drop repeats by `webhook-id`.
 */
export function webhookHeaders(
  secret: string,
  id: string,
  body: string,
  now = new Date(),
): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
  const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}
