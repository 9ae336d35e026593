/** Moved to ./airbyte/airbyte-simulator-main.ts; kept while `npm run simulator` still names this path. */
import './airbyte/airbyte-simulator-main.js'
