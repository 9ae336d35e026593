/** Moved to ./airbyte/airbyte-simulator.ts; kept so imports of the old path keep working until they are updated. */
export * from './airbyte/airbyte-simulator.js'
