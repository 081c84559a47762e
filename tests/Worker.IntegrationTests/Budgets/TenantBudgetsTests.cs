using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Worker.Audit;
using Worker.Budgets;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;

namespace Worker.IntegrationTests.Budgets;

/// <summary>
/// <see cref="PostgresTenantBudgets"/> against real PostgreSQL. Two instances are two data sources (two pools, as two
/// worker processes have); time is a fake clock, so a day ends when the test says. Tenants are this run's own.
/// </summary>
public sealed class TenantBudgetsTests : IAsyncLifetime
{
    private readonly NpgsqlDataSource _first = Pool();
    private readonly NpgsqlDataSource _second = Pool();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly string _tenant = $"it-budget-{Guid.NewGuid():N}";
    private static readonly DateOnly December1 = new(2026, 12, 1);

    public Task InitializeAsync() => AuditDatabase.MigrateAsync(TestEnvironment.Postgres);

    [Fact]
    public async Task Concurrent_charges_from_two_instances_never_pass_the_budget_and_none_is_lost()
    {
        // 1.00 holds 33 charges of 0.03 exactly (0.99); 80 race for it, 40 from each instance, one of them spelling the
        // tenant in upper case. A read-then-write would let several pass at 0.99; a lost update would count fewer.
        var first = Budgets(_first, 1.00m);
        var second = Budgets(_second, 1.00m);
        var charges = await Task.WhenAll(Enumerable.Range(0, 80).Select(i => i % 2 == 0
            ? first.TryChargeAsync(_tenant, 0.03m, CancellationToken.None)
            : second.TryChargeAsync(_tenant.ToUpperInvariant(), 0.03m, CancellationToken.None)));

        var charged = charges.OfType<BudgetCharge>().ToList();
        Assert.Equal(33, charged.Count);
        Assert.Equal(0.99m, charged.Sum(c => c.EstimateUsd));
        Assert.Equal(0.99m, await SpentAsync(December1));
        Assert.Equal(new TenantBudgetStatus(_tenant, December1, 1.00m, 0.99m), await second.StatusAsync(_tenant, CancellationToken.None));
    }

    [Fact]
    public async Task A_refused_charge_changes_nothing()
    {
        var budgets = Budgets(_first, 1.00m);

        Assert.Null(await budgets.TryChargeAsync(_tenant, 1.01m, CancellationToken.None));
        Assert.Null(await SpentAsync(December1));

        var charge = await budgets.TryChargeAsync(_tenant, 0.6m, CancellationToken.None);
        var at = await UpdatedAtAsync(December1);
        _clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Null(await budgets.TryChargeAsync(_tenant, 0.41m, CancellationToken.None));
        Assert.Equal(new BudgetCharge(_tenant, December1, 0.6m), charge);
        Assert.Equal(0.6m, await SpentAsync(December1));
        Assert.Equal(at, await UpdatedAtAsync(December1));
        Assert.NotNull(await budgets.TryChargeAsync(_tenant, 0.4m, CancellationToken.None));
        Assert.Equal(1.0m, await SpentAsync(December1));
    }

    [Fact]
    public async Task Settling_replaces_the_estimate_by_what_the_call_cost()
    {
        var first = Budgets(_first, 1.00m);
        var second = Budgets(_second, 1.00m);
        var answered = (await first.TryChargeAsync(_tenant, 0.5m, CancellationToken.None))!;
        var failed = (await second.TryChargeAsync(_tenant, 0.3m, CancellationToken.None))!;
        Assert.Null(await first.TryChargeAsync(_tenant, 0.3m, CancellationToken.None));

        await first.SettleAsync(answered, 0.123456789m, CancellationToken.None);
        await second.SettleAsync(failed, 0m, CancellationToken.None);

        // Stored at the column's 8 decimals; what is freed fits again, exactly to the budget and not a cent more.
        Assert.Equal(0.12345679m, await SpentAsync(December1));
        Assert.Null(await second.TryChargeAsync(_tenant, 0.87654322m, CancellationToken.None));
        var rest = (await second.TryChargeAsync(_tenant, 0.87654321m, CancellationToken.None))!;
        Assert.Equal(1m, await SpentAsync(December1));

        // A call that cost more than its estimate is counted in full: the day is then over budget and refuses all.
        await second.SettleAsync(rest, 0.9m, CancellationToken.None);
        Assert.Equal(1.02345679m, await SpentAsync(December1));
        Assert.Null(await first.TryChargeAsync(_tenant, 0m, CancellationToken.None));
        Assert.Equal(0m, (await first.StatusAsync(_tenant, CancellationToken.None))!.RemainingUsd);
    }

    [Fact]
    public async Task A_new_utc_day_starts_from_zero_and_a_settlement_goes_to_its_charge_s_day()
    {
        _clock.SetUtcNow(new DateTimeOffset(2026, 12, 1, 23, 59, 59, TimeSpan.Zero));
        var budgets = Budgets(_first, 1.00m);
        var late = (await budgets.TryChargeAsync(_tenant, 0.9m, CancellationToken.None))!;
        Assert.Null(await budgets.TryChargeAsync(_tenant, 0.2m, CancellationToken.None));

        _clock.Advance(TimeSpan.FromSeconds(1));
        var december2 = new DateOnly(2026, 12, 2);

        Assert.Equal(new BudgetCharge(_tenant, december2, 0.2m), await budgets.TryChargeAsync(_tenant, 0.2m, CancellationToken.None));
        await budgets.SettleAsync(late, 0.1m, CancellationToken.None);
        Assert.Equal(0.1m, await SpentAsync(December1));
        Assert.Equal(0.2m, await SpentAsync(december2));
        Assert.Equal(new TenantBudgetStatus(_tenant, december2, 1.00m, 0.2m), await budgets.StatusAsync(_tenant, CancellationToken.None));
    }

    [Fact]
    public async Task Today_lists_every_listed_tenant_and_the_unlisted_ones_that_spent_under_the_default()
    {
        var listedIdle = $"{_tenant}-idle";
        var unlisted = $"{_tenant}-guest";
        var budgets = Budgets(_first, 1.00m, defaultDailyUsd: 0.5m, (listedIdle, 3m));
        Assert.NotNull(await budgets.TryChargeAsync(_tenant, 0.25m, CancellationToken.None));
        Assert.NotNull(await budgets.TryChargeAsync(unlisted.ToUpperInvariant(), 0.5m, CancellationToken.None));
        Assert.Null(await budgets.TryChargeAsync(unlisted, 0.01m, CancellationToken.None));

        var today = (await budgets.TodayAsync(CancellationToken.None)).Where(s => s.Tenant.StartsWith(_tenant, StringComparison.Ordinal));

        Assert.Equal(
        [
            new TenantBudgetStatus(_tenant, December1, 1.00m, 0.25m),
            new TenantBudgetStatus(unlisted, December1, 0.5m, 0.5m),
            new TenantBudgetStatus(listedIdle, December1, 3m, 0m),
        ], today);
    }

    private PostgresTenantBudgets Budgets(NpgsqlDataSource database, decimal dailyUsd, decimal? defaultDailyUsd = null, params (string Tenant, decimal DailyUsd)[] others)
    {
        var options = new BudgetsOptions { DefaultDailyUsd = defaultDailyUsd };
        options.Tenants[_tenant] = new TenantBudgetOptions { DailyUsd = dailyUsd };
        foreach (var (tenant, daily) in others)
            options.Tenants[tenant] = new TenantBudgetOptions { DailyUsd = daily };
        var retry = new WriteRetry(Options.Create(new AuditOptions()), new DatabaseGate(database), TimeProvider.System, NullLogger<WriteRetry>.Instance);
        return new PostgresTenantBudgets(database, new BudgetTable(Options.Create(options)), retry, _clock);
    }

    /// <summary>A small pool per instance: several charges of each are on the wire at once, on a shared PostgreSQL.</summary>
    private static NpgsqlDataSource Pool() =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { MaxPoolSize = 10 }.ConnectionString);

    private async Task<decimal?> SpentAsync(DateOnly day)
    {
        await using var command = _first.CreateCommand("SELECT spent_usd FROM tenant_spend WHERE tenant = $1 AND day = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = _tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = day });
        return await command.ExecuteScalarAsync() as decimal?;
    }

    private async Task<DateTimeOffset> UpdatedAtAsync(DateOnly day)
    {
        await using var command = _first.CreateCommand("SELECT updated_at FROM tenant_spend WHERE tenant = $1 AND day = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = _tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = day });
        return new DateTimeOffset((DateTime)(await command.ExecuteScalarAsync())!);
    }

    public async Task DisposeAsync()
    {
        await using (var command = _first.CreateCommand("DELETE FROM tenant_spend WHERE tenant LIKE $1"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = _tenant + "%" });
            await command.ExecuteNonQueryAsync();
        }

        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }
}
