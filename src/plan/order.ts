/**
 * The order the build list is printed in: the order the scheduler would start ports on one builder
 * (critical-path priority, ties broken deterministically). Pure.
 */
import { oneBuilderOrder } from '../scheduler/index.js';
import type { OrderFn } from './types.js';

/** The order function `makePlan` uses by default: the scheduler's `oneBuilderOrder`. */
export const defaultOrder: OrderFn = oneBuilderOrder;
