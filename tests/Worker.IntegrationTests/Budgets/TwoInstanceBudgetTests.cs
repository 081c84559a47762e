using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Faults;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator.Faults;
using Xunit.Abstractions;

namespace Worker.IntegrationTests.Budgets;

/// <summary>
/// A tenant's daily budget on two worker processes sharing one broker and one database: together they spend no more than
/// the budget allows, the requests that no longer fit end <c>budget_exceeded</c> without a provider call, and every request
/// still has exactly one outcome.
/// NEEDS THE CHAIN WIRING: it passes only once ChainRunner charges <c>ITenantBudgets</c> before each call of a request with
/// a tenant (skipping the step with "skipped: budget", failing the request <c>budget_exceeded</c> when nothing fits) and
/// settles each charge to the call's cost after it.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class TwoInstanceBudgetTests(FaultFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Requests = 150;
    private const int MaxOutputTokens = 200;

    // Each call's estimate (CallCost: prompt characters / 4 + 1 tokens in, maxOutputTokens out, list price) is about
    // 0.002 USD on gemini-2.5-pro; the simulator's short answers cost a tenth of that. So roughly two in-flight estimates
    // fit at once, a few dozen answers fit the day, and most of the 150 requests find the budget spent.
    private const decimal DailyUsd = 0.005m;

    private readonly FaultFixture _f = fixture;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];

    private string Tenant => $"it-budget-e2e-{_run}";

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        await _f.CleanSlateAsync();
    }

    [Fact]
    public async Task Two_instances_spend_one_tenant_budget_once_and_refuse_the_rest_without_calling()
    {
        // Calls overlap within and across instances, so charges race for the same row.
        _f.Sim.SetProfile("gemini", new FaultProfile { LatencyMs = 200 });
        _f.Sim.SetProfile("openai", new FaultProfile { LatencyMs = 200 });
        var requests = Enumerable.Range(0, Requests)
            .Select(i => TestProducer.NewRequest($"budget {_run} #{i}") with { Tenant = Tenant, MaxOutputTokens = MaxOutputTokens })
            .ToList();
        var ids = requests.Select(r => r.RequestId).ToList();
        var workers = new List<WorkerProcess>();
        try
        {
            workers.Add(await WorkerProcess.StartAsync(Environment("budget-a")));
            workers.Add(await WorkerProcess.StartAsync(Environment("budget-b")));
            await Task.WhenAll(requests.Select(_f.Producer.PublishAsync));

            var missing = await _f.WaitForTerminalAsync(ids, TimeSpan.FromMinutes(3));
            Assert.True(missing.Count == 0, $"{missing.Count} request(s) without an outcome; workers:\n{workers[0].Tail()}\n{workers[1].Tail()}");
            Assert.Empty(await _f.Producer.WaitForAllAsync(ids, TimeSpan.FromSeconds(60)));

            // Exactly one outcome each: one terminal row, one result message (re-published copies share its id).
            Assert.All(ids, id => Assert.Single(_f.Producer.MessageIds(id).Distinct()));
            var outcomes = await OutcomesAsync(ids);
            Assert.Equal(Requests, outcomes.Count);
            var refused = outcomes.Where(o => o.Value.Reason == FailureReasons.BudgetExceeded).Select(o => o.Key).ToHashSet();
            var answered = outcomes.Count(o => o.Value.Status == RequestStatus.Succeeded);
            Assert.NotEmpty(refused);
            Assert.True(answered > 0, "no request was answered: the budget refused everything");
            Assert.Equal(Requests, refused.Count + answered);

            // No call past the budget: the provider never saw a refused request's prompt, and no attempt of one made a call.
            var calls = _f.Sim.CallsByPrompt();
            Assert.All(requests.Where(r => refused.Contains(r.RequestId)),
                r => Assert.Equal(0, calls.GetValueOrDefault(r.Messages[^1].Content!)?.Total ?? 0));
            Assert.All(refused, id => Assert.Equal(0, outcomes[id].CallsMade));

            // What the tenant was billed stays within the budget plus one call's estimate error; every charge was settled
            // to its call's cost, so the shared row holds exactly what the attempts cost.
            var billed = outcomes.Values.Sum(o => o.CostUsd);
            var estimate = MaxEstimate(requests);
            Assert.True(billed <= DailyUsd + estimate, $"billed {billed} USD, budget {DailyUsd} plus one estimate {estimate}");
            Assert.Equal(billed, await SpentAsync());
            output.WriteLine($"{answered} answered, {refused.Count} budget_exceeded, billed {billed} of {DailyUsd} USD (one estimate: {estimate})");
        }
        finally
        {
            foreach (var worker in workers)
                await worker.DisposeAsync();
        }
    }

    private Dictionary<string, string?> Environment(string instanceName)
    {
        var environment = _f.WorkerEnvironment();
        environment["ProviderHealth:InstanceName"] = instanceName;
        // Two pools on a shared PostgreSQL (max_connections 100).
        environment["ConnectionStrings:Postgres"] = new NpgsqlConnectionStringBuilder(TestEnvironment.Postgres) { MaxPoolSize = 15 }.ConnectionString;
        environment[$"Budgets:Tenants:{Tenant}:DailyUsd"] = DailyUsd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment;
    }

    /// <summary>The largest estimate any of these requests' calls was charged: gemini-2.5-pro's price (the default chain's dearest step).</summary>
    private static decimal MaxEstimate(IEnumerable<CompletionRequested> requests) =>
        requests.Max(r => (r.Messages.Sum(m => m.Content!.Length) / 4 + 1) * 1.25m / 1_000_000m + MaxOutputTokens * 10.00m / 1_000_000m);

    /// <summary>Per request: status, failure reason, attempts that made a call, and what its attempts cost.</summary>
    private async Task<Dictionary<Guid, (string Status, string? Reason, int CallsMade, decimal CostUsd)>> OutcomesAsync(IReadOnlyCollection<Guid> ids)
    {
        await using var command = _f.Database.CreateCommand("""
            SELECT r.request_id, r.status, r.failure_reason,
                   count(a.id) FILTER (WHERE a.call_made)::int, coalesce(sum(a.cost_usd), 0)
            FROM requests r LEFT JOIN attempts a ON a.request_id = r.request_id
            WHERE r.request_id = ANY($1)
            GROUP BY r.request_id, r.status, r.failure_reason
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        var rows = new Dictionary<Guid, (string, string?, int, decimal)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows[reader.GetGuid(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3), reader.GetDecimal(4));
        return rows;
    }

    /// <summary>The tenant's spend over every day of the run (a run across midnight UTC spans two rows).</summary>
    private async Task<decimal> SpentAsync()
    {
        await using var command = _f.Database.CreateCommand("SELECT coalesce(sum(spent_usd), 0) FROM tenant_spend WHERE tenant = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Tenant });
        return (decimal)(await command.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        _f.Sim.Clear();
        await using var command = _f.Database.CreateCommand("DELETE FROM tenant_spend WHERE tenant = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Tenant });
        await command.ExecuteNonQueryAsync();
    }
}
