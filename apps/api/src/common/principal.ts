/** Who is calling: the API key and the tenant it acts for. Every batch query is scoped by tenant. */
export interface Principal {
  apiKeyId: string;
  tenant: string;
}
