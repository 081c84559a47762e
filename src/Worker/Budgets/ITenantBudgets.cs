namespace Worker.Budgets;

/// <summary>
/// Per-tenant daily budgets (<c>Budgets:Tenants:NAME:DailyUsd</c>), counted once across all instances. The chain charges
/// a call's estimate before making it and settles the charge to the call's estimated cost after it, so concurrent
/// requests of one tenant on any instance cannot together pass the budget by more than the estimates' error.
/// </summary>
public interface ITenantBudgets
{
    /// <summary>True when <paramref name="tenant"/> has a daily budget; false (and no charge is ever refused) otherwise.</summary>
    bool HasBudget(string? tenant);

    /// <summary>
    /// Charges <paramref name="estimateUsd"/> to today's spend of <paramref name="tenant"/> if it fits the daily budget;
    /// null when it does not (no charge made). A tenant without a budget always gets a charge.
    /// </summary>
    Task<BudgetCharge?> TryChargeAsync(string tenant, decimal estimateUsd, CancellationToken cancellationToken);

    /// <summary>Replaces the charge's estimate by what the call cost (0 for a failed call).</summary>
    Task SettleAsync(BudgetCharge charge, decimal actualUsd, CancellationToken cancellationToken);

    /// <summary>Today's spend and budget of <paramref name="tenant"/>; null when it has no budget.</summary>
    Task<TenantBudgetStatus?> StatusAsync(string tenant, CancellationToken cancellationToken);
}

/// <summary>An estimate charged to a tenant's day, to be settled after the call.</summary>
public sealed record BudgetCharge(string Tenant, DateOnly Day, decimal EstimateUsd);

/// <summary>A tenant's budget for today and what is spent of it.</summary>
public sealed record TenantBudgetStatus(string Tenant, DateOnly Day, decimal DailyUsd, decimal SpentUsd)
{
    public decimal RemainingUsd => DailyUsd > SpentUsd ? DailyUsd - SpentUsd : 0m;
}
