using System.Net;
using System.Net.Http.Headers;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Budgets;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.IntegrationTests.Ops;
using Worker.Simulator;

namespace Worker.IntegrationTests.Budgets;

/// <summary><c>GET /budgets</c> on the worker host as Program.cs builds it: behind the ops key, today's figures from PostgreSQL.</summary>
public sealed class BudgetsEndpointTests : IAsyncLifetime
{
    private const string Key = "budgets-integration-key-0123456789";
    private readonly string _tenant = $"it-ops-{Guid.NewGuid():N}";
    private WebApplication _worker = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        // No simulator: nothing is published, so no provider is called.
        var settings = PipelineFixture.WorkerSettings(new Uri("http://127.0.0.1:9/"));
        settings["OPS_API_KEY"] = Key;
        settings["Retention:Days"] = "0";
        settings[$"Budgets:Tenants:{_tenant}:DailyUsd"] = "2.5";
        _worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await _worker.StartAsync();
        // A bus stopped before it is up leaves a consumer behind on the shared request queue.
        await _worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Budgets_reports_today_s_spend_of_each_tenant_to_the_ops_key_only()
    {
        var budgets = _worker.Services.GetRequiredService<ITenantBudgets>();
        Assert.NotNull(await budgets.TryChargeAsync(_tenant, 0.75m, CancellationToken.None));
        using var client = new HttpClient { BaseAddress = _worker.GetBaseAddress() };

        using (var anonymous = await client.GetAsync("/budgets"))
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        var report = await client.GetJsonAsync("/budgets");

        var today = DateOnly.FromDateTime(DateTime.UtcNow).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(today, (string?)report["day"]);
        Assert.Null(report["defaultDailyUsd"]);
        var tenant = Assert.Single(report["tenants"]!.AsArray(), t => (string?)t!["tenant"] == _tenant)!;
        Assert.Equal((2.5m, 0.75m, 1.75m, today), ((decimal)tenant["dailyUsd"]!, (decimal)tenant["spentUsd"]!, (decimal)tenant["remainingUsd"]!, (string?)tenant["day"]));
    }

    public async Task DisposeAsync()
    {
        await _worker.StopAsync();
        await _worker.DisposeAsync();
        await using var database = NpgsqlDataSource.Create(TestEnvironment.Postgres);
        await using var command = database.CreateCommand("DELETE FROM tenant_spend WHERE tenant = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = _tenant });
        await command.ExecuteNonQueryAsync();
    }
}
