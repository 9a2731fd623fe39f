import { MemoryLimiter } from '../../src/policy/limiter.ts';
import { limiterContract } from './limiter.contract.ts';

limiterContract('memory limiter', () => new MemoryLimiter());
