/**
 * Build identities and the plan of a bulk (pure): what to build, keep, delete or skip, and why.
 */
export {
  FORMAT_VERSION,
  computeIdentities,
  identityHash,
  placeholderJailIdentity,
  abiContribution,
} from './identity.js';
export {
  AbiResolver,
  abiMapOf,
  abiUnchanged,
  conditionalKeeps,
  settlePlan,
  type AbiDecision,
  type AbiResolverInput,
  type SettledPlan,
} from './abi.js';
export type { Identity, IdentityComponents, IdentityInput } from './identity.js';
export { makePlan } from './plan.js';
export { changeReasons, dependencyRebuilt, REASONS } from './reasons.js';
export { DEFAULT_DURATION_S } from './types.js';
export type { BuiltRecord, Plan, PlanInput, SkipEntry, OrderFn, PublishedPackage } from './types.js';
export { toBuiltRecords } from './types.js';
export { defaultOrder } from './order.js';
export { planToJson, formatPlanText } from './format.js';
export type { PlanJson } from './format.js';
