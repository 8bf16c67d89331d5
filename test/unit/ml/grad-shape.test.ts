import { shapeCases } from './grad-cases';
import { expectGradCases } from './grad-run';

expectGradCases('slicing and indexing gradient rules (float64, onnxruntime CPU)', shapeCases);
