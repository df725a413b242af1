/** The integrations' U cycle against bare core's, measured side by side. */
export interface IntegrationSample {
  placeholder: true;
}

export async function measureIntegration(
  _connect: string,
  _rootDir: string,
  _cycles: number,
): Promise<IntegrationSample | string> {
  return "integrations: not measured yet";
}
