using Microsoft.AspNetCore.Http.HttpResults;

namespace Worker.Budgets;

/// <summary>
/// <c>GET /budgets</c> (ops API): today's budget and spend of every listed tenant, and of unlisted tenants that spent today
/// under the default budget. The figures are the cluster's, read from <c>tenant_spend</c>; a running call counts at its
/// estimate until it is settled.
/// </summary>
public static class BudgetsEndpoint
{
    public static async Task<Ok<BudgetsReport>> GetAsync(PostgresTenantBudgets budgets, BudgetTable table, TimeProvider time, CancellationToken cancellationToken)
    {
        var tenants = await budgets.TodayAsync(cancellationToken);
        return TypedResults.Ok(new BudgetsReport(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime), table.DefaultDailyUsd, tenants));
    }
}

/// <param name="Day">The UTC day reported.</param>
/// <param name="DefaultDailyUsd">The budget of tenants not listed; null: they have none.</param>
public sealed record BudgetsReport(DateOnly Day, decimal? DefaultDailyUsd, IReadOnlyList<TenantBudgetStatus> Tenants);
