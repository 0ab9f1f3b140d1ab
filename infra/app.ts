import { Annotations, App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { formatConfigError, InfraConfigError } from './config.ts';
import { addParProxyStack } from './par-proxy-stack.ts';

/**
 * CDK entry (cdk.json: `npx tsx infra/app.ts`). Configuration comes from context, e.g.
 *   npx cdk deploy -c issuer=https://tenant.auth0.com/ -c clientId=abc \
 *     -c allowedOrigins=https://app.example.com -c allowedRedirectUris=https://app.example.com/callback
 * See docs/deploy.md for every key.
 */
const app = new App();
try {
  addParProxyStack(app);
} catch (error) {
  if (!(error instanceof InfraConfigError)) throw error;
  // `cdk bootstrap` runs the app too, before the deployment's context exists: an unusable
  // configuration becomes an error on an empty stack, which fails `synth`, `diff` and `deploy` with
  // every -c value to fix and a command that works, and lets `bootstrap` go on (it ignores annotations).
  const placeholder = new Stack(app, String(app.node.tryGetContext('stackName') ?? 'ParProxy'));
  Annotations.of(placeholder).addError(formatConfigError(error));
}
// cdk-nag's AWS Solutions checks run at synthesis; an unacknowledged finding fails `cdk synth`.
// Every acknowledgement sits next to the construct it concerns, with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
