using Npgsql;
using NpgsqlTypes;
using Worker.Persistence;

namespace Worker.Budgets;

/// <summary>
/// Tenant budgets kept in PostgreSQL (<c>tenant_spend</c>, one row per tenant and UTC day), so every instance charges the
/// same row: a charge is one statement that adds the estimate only while it fits, and row locking makes concurrent
/// charges from any instance take turns, so together they never pass the budget.
/// <para>
/// Crash between charge and settlement: the estimate stays charged. That is conservative (the tenant may be refused a
/// little early that day), never an overspend. Writes run under <see cref="WriteRetry"/> like the request's own writes:
/// through a PostgreSQL outage the request waits instead of calling unaccounted. A connection lost after PostgreSQL
/// committed but before it answered makes the retry apply the statement again: a charge twice (conservative again), or a
/// settlement twice (the day's spend then reads one estimate's error too low; the window is the commit's round trip).
/// </para>
/// </summary>
public sealed class PostgresTenantBudgets(NpgsqlDataSource database, BudgetTable budgets, WriteRetry retry, TimeProvider time) : ITenantBudgets
{
    // The SELECT ... WHERE refuses a first charge above the budget (nothing is inserted, so nothing conflicts); the
    // conflict's WHERE, evaluated on the locked, latest row, refuses a charge that no longer fits. No row returned: refused.
    private const string Charge = """
        INSERT INTO tenant_spend AS s (tenant, day, spent_usd, updated_at)
        SELECT @tenant, @day, @estimate, @now
        WHERE @estimate <= @daily
        ON CONFLICT (tenant, day) DO UPDATE
        SET spent_usd = s.spent_usd + excluded.spent_usd, updated_at = excluded.updated_at
        WHERE s.spent_usd + excluded.spent_usd <= @daily
        RETURNING s.spent_usd
        """;

    private const string Settle = """
        UPDATE tenant_spend SET spent_usd = spent_usd + @correction, updated_at = @now
        WHERE tenant = @tenant AND day = @day
        """;

    private const string Spent = "SELECT spent_usd FROM tenant_spend WHERE tenant = @tenant AND day = @day";

    private const string SpentToday = "SELECT tenant, spent_usd FROM tenant_spend WHERE day = @day";

    public bool HasBudget(string? tenant) => budgets.TryGet(tenant, out _, out _);

    public async Task<BudgetCharge?> TryChargeAsync(string tenant, decimal estimateUsd, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(estimateUsd);
        var day = Today();
        if (!budgets.TryGet(tenant, out var key, out var daily))
        {
            return new BudgetCharge(tenant, day, estimateUsd);
        }

        // A name tenant_spend cannot hold has no row to count against: refused rather than let through uncounted.
        if (key.Length > BudgetsOptions.MaxTenantLength)
        {
            return null;
        }

        // The column keeps 8 decimals: charge what is stored, so the settlement takes back exactly that.
        var estimate = Usd(estimateUsd);
        var charged = await retry.RunAsync($"budget charge of tenant {key}", Guid.Empty, async ct =>
        {
            await using var command = database.CreateCommand(Charge);
            Add(command, key, day);
            command.Parameters.Add(new NpgsqlParameter<decimal>("estimate", NpgsqlDbType.Numeric) { TypedValue = estimate });
            command.Parameters.Add(new NpgsqlParameter<decimal>("daily", NpgsqlDbType.Numeric) { TypedValue = daily });
            return await command.ExecuteScalarAsync(ct) is not null;
        }, cancellationToken);
        return charged ? new BudgetCharge(key, day, estimate) : null;
    }

    public async Task SettleAsync(BudgetCharge charge, decimal actualUsd, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actualUsd);
        var correction = Usd(actualUsd) - charge.EstimateUsd;
        if (correction == 0 || !budgets.TryGet(charge.Tenant, out _, out _))
        {
            return;
        }

        await retry.RunAsync($"budget settlement of tenant {charge.Tenant}", Guid.Empty, async ct =>
        {
            await using var command = database.CreateCommand(Settle);
            Add(command, charge.Tenant, charge.Day);
            command.Parameters.Add(new NpgsqlParameter<decimal>("correction", NpgsqlDbType.Numeric) { TypedValue = correction });
            return await command.ExecuteNonQueryAsync(ct);
        }, cancellationToken);
    }

    public async Task<TenantBudgetStatus?> StatusAsync(string tenant, CancellationToken cancellationToken)
    {
        if (!budgets.TryGet(tenant, out var key, out var daily))
        {
            return null;
        }

        var day = Today();
        await using var command = database.CreateCommand(Spent);
        command.Parameters.Add(new NpgsqlParameter<string>("tenant", key));
        command.Parameters.Add(new NpgsqlParameter<DateOnly>("day", day));
        var spent = await command.ExecuteScalarAsync(cancellationToken) as decimal? ?? 0m;
        return new TenantBudgetStatus(key, day, daily, spent);
    }

    /// <summary>
    /// Today's status of every listed tenant, and of every unlisted tenant that spent today under
    /// <see cref="BudgetTable.DefaultDailyUsd"/>; by tenant name.
    /// </summary>
    public async Task<IReadOnlyList<TenantBudgetStatus>> TodayAsync(CancellationToken cancellationToken)
    {
        var day = Today();
        var spent = new Dictionary<string, decimal>(StringComparer.Ordinal);
        await using (var command = database.CreateCommand(SpentToday))
        {
            command.Parameters.Add(new NpgsqlParameter<DateOnly>("day", day));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                spent[reader.GetString(0)] = reader.GetDecimal(1);
            }
        }

        var statuses = budgets.Listed.Select(t => new TenantBudgetStatus(t.Key, day, t.Value, spent.GetValueOrDefault(t.Key))).ToList();
        if (budgets.DefaultDailyUsd is { } fallback)
        {
            var listed = statuses.Select(s => s.Tenant).ToHashSet(StringComparer.Ordinal);
            statuses.AddRange(spent.Where(s => !listed.Contains(s.Key)).Select(s => new TenantBudgetStatus(s.Key, day, fallback, s.Value)));
        }

        return [.. statuses.OrderBy(s => s.Tenant, StringComparer.Ordinal)];
    }

    /// <summary>The UTC day of this instance's clock: a charge and its settlement always go to the charge's day.</summary>
    private DateOnly Today() => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    private static decimal Usd(decimal value) => Math.Round(value, 8, MidpointRounding.AwayFromZero);

    private void Add(NpgsqlCommand command, string tenant, DateOnly day)
    {
        command.Parameters.Add(new NpgsqlParameter<string>("tenant", tenant));
        command.Parameters.Add(new NpgsqlParameter<DateOnly>("day", day));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", time.GetUtcNow()));
    }
}
