export * from './local-cluster';
export * from './ports';
export * from './role-process';
export * from './wait-for';
