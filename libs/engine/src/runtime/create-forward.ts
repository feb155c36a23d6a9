import type { ModelBundle } from '../bundle/model-bundle';
import type { ProviderSession } from './execution-providers';
import type { ForwardPass } from './forward-pass';
import { OrtDecoderForward } from './ort-decoder-forward';
import { OrtForward, type OrtForwardOptions } from './ort-forward';

export type OrtForwardPass = ForwardPass & {
  readonly providerInfo: Omit<ProviderSession, 'session'>;
};

/** The onnxruntime forward for a bundle's graph layout: separate graphs (format 2) or one decoder (format 3). */
export function createOrtForward(
  bundle: ModelBundle,
  opts: OrtForwardOptions = {},
): Promise<OrtForwardPass> {
  return bundle.graphLayout === 'decoder'
    ? OrtDecoderForward.create(bundle, opts)
    : OrtForward.create(bundle, opts);
}
