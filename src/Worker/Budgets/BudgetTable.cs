using Microsoft.Extensions.Options;

namespace Worker.Budgets;

/// <summary>
/// Which tenants have a budget and how much, resolved once from <see cref="BudgetsOptions"/>. A tenant's spend is kept
/// under its lower-case name, so "Acme" and "acme" (one tenant, as configuration keys are case-insensitive) add to one
/// row on every instance.
/// </summary>
public sealed class BudgetTable
{
    private readonly Dictionary<string, decimal> _tenants;

    public BudgetTable(IOptions<BudgetsOptions> options)
    {
        var budgets = options.Value;
        DefaultDailyUsd = budgets.DefaultDailyUsd;
        _tenants = budgets.Tenants.ToDictionary(t => Key(t.Key), t => t.Value.DailyUsd!.Value, StringComparer.Ordinal);
    }

    /// <summary>The budget of tenants not listed; null: they have none.</summary>
    public decimal? DefaultDailyUsd { get; }

    /// <summary>The listed tenants (their row keys) and their budgets, by name.</summary>
    public IEnumerable<KeyValuePair<string, decimal>> Listed => _tenants.OrderBy(t => t.Key, StringComparer.Ordinal);

    /// <summary>The row key and daily budget of <paramref name="tenant"/>; false when it has no budget (or is blank).</summary>
    public bool TryGet(string? tenant, out string key, out decimal dailyUsd)
    {
        key = string.IsNullOrWhiteSpace(tenant) ? "" : Key(tenant);
        if (key.Length == 0)
        {
            dailyUsd = 0;
            return false;
        }

        if (_tenants.TryGetValue(key, out dailyUsd))
        {
            return true;
        }

        dailyUsd = DefaultDailyUsd ?? 0;
        return DefaultDailyUsd is not null;
    }

    /// <summary>The name a tenant's row is kept under: lower case, so the match is case-insensitive across instances.</summary>
    public static string Key(string tenant) => tenant.ToLowerInvariant();
}
