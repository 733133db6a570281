/** Injection token of the validated {@link ExampleConfig}. */
export const EXAMPLE_CONFIG = Symbol('example.ExampleConfig');
