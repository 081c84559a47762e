using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Worker.Audit;
using Worker.Budgets;
using Worker.Persistence;

namespace Worker.Tests.Budgets;

/// <summary>
/// What <see cref="PostgresTenantBudgets"/> decides without asking PostgreSQL. Its database here is a closed port: a
/// query would fail and be retried until the token ends, so a test that reached it fails with a cancellation.
/// </summary>
public sealed class TenantBudgetsWithoutDatabaseTests : IAsyncDisposable
{
    private readonly NpgsqlDataSource _nowhere = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=1");
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly CancellationTokenSource _bound = new(TimeSpan.FromSeconds(10));

    [Fact]
    public async Task A_tenant_without_a_budget_is_always_charged_and_never_counted()
    {
        var budgets = Budgets(new BudgetsOptions { Tenants = { ["acme"] = new TenantBudgetOptions { DailyUsd = 1m } } });

        Assert.False(budgets.HasBudget("globex"));
        Assert.False(budgets.HasBudget(null));
        var charge = await budgets.TryChargeAsync("globex", 1_000m, _bound.Token);
        Assert.Equal(new BudgetCharge("globex", new DateOnly(2026, 12, 1), 1_000m), charge);
        await budgets.SettleAsync(charge!, 2_000m, _bound.Token);
        Assert.Null(await budgets.StatusAsync("globex", _bound.Token));
    }

    [Fact]
    public async Task A_settlement_equal_to_its_estimate_writes_nothing()
    {
        var budgets = Budgets(new BudgetsOptions { Tenants = { ["acme"] = new TenantBudgetOptions { DailyUsd = 1m } } });

        Assert.True(budgets.HasBudget("ACME"));
        await budgets.SettleAsync(new BudgetCharge("acme", new DateOnly(2026, 12, 1), 0.25m), 0.25m, _bound.Token);
    }

    [Fact]
    public async Task Under_a_default_budget_a_tenant_name_the_table_cannot_hold_is_refused_rather_than_let_through()
    {
        var budgets = Budgets(new BudgetsOptions { DefaultDailyUsd = 5m });
        var name = new string('t', BudgetsOptions.MaxTenantLength + 1);

        Assert.True(budgets.HasBudget(name));
        Assert.Null(await budgets.TryChargeAsync(name, 0.01m, _bound.Token));
    }

    private PostgresTenantBudgets Budgets(BudgetsOptions options)
    {
        var retry = new WriteRetry(Options.Create(new AuditOptions()), new DatabaseGate(_nowhere), _clock, NullLogger<WriteRetry>.Instance);
        return new PostgresTenantBudgets(_nowhere, new BudgetTable(Options.Create(options)), retry, _clock);
    }

    public async ValueTask DisposeAsync()
    {
        _bound.Dispose();
        await _nowhere.DisposeAsync();
    }
}
