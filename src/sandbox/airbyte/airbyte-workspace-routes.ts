/**
 * `/workspaces`: the simulator has exactly one, pre-created at start-up; it can be read and listed, not changed.
 */
import { paginate, queryList } from './airbyte-paging.js'
import { resourceNotFound } from './airbyte-problems.js'
import type { SimulatorRoute } from './airbyte-router.js'

export const workspaceRouteTable: SimulatorRoute[] = [
  {
    method: 'GET',
    path: '/workspaces',
    handle: (ctx) => {
      const workspaceIds = queryList(ctx.query, 'workspaceIds')
      const all = [...ctx.store.workspaces.values()]
        .filter((workspace) => workspaceIds.length === 0 || workspaceIds.includes(workspace.workspaceId))
      return { status: 200, body: paginate(all, ctx.query, ctx.selfUrl) }
    }
  },
  {
    method: 'GET',
    path: '/workspaces/:workspaceId',
    handle: (ctx) => {
      const workspaceId = ctx.params.workspaceId as string
      const workspace = ctx.store.workspaces.get(workspaceId)
      if (workspace === undefined) throw resourceNotFound('workspace', workspaceId)
      return { status: 200, body: workspace }
    }
  }
]
