using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Audit;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.Persistence;
using Worker.Simulator;
using Worker.Simulator.Calls;

namespace Worker.IntegrationTests.Infrastructure;

/// <summary>
/// The whole pipeline on real parts: the simulator over real HTTP on a free loopback port, the worker host exactly as
/// Program.cs builds it (pointed at the simulator, with short backoffs), real RabbitMQ and PostgreSQL, and a producer.
/// </summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    public WebApplication Simulator { get; private set; } = null!;

    public SimulatorState Sim { get; private set; } = null!;

    public WebApplication Worker { get; private set; } = null!;

    public TestProducer Producer { get; private set; } = null!;

    /// <summary>The worker's deliveries and results, counted from its start.</summary>
    public WorkerTraffic Traffic { get; private set; } = null!;

    /// <summary>
    /// The provider attempt timeout the tests configure for Gemini: a hang costs this long. Well above the simulated
    /// latencies tests use (1.5 s at most), so a loaded CI machine does not turn a slow answer into a timeout.
    /// </summary>
    public static readonly TimeSpan GeminiTimeout = TimeSpan.FromSeconds(5);

    public async Task InitializeAsync()
    {
        // The worker refuses a database whose audit schema is behind: migrate first, as ops/test.sh does.
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        Simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await Simulator.StartAsync();
        Sim = Simulator.Services.GetRequiredService<SimulatorState>();
        var sim = Simulator.GetBaseAddress();

        Worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(
            WorkerSettings(sim)));
        await AuditSchema.EnsureCurrentAsync(Worker.Services.GetRequiredService<NpgsqlDataSource>());
        Traffic = WorkerTraffic.AttachTo(Worker.Services.GetRequiredService<IBus>());
        await Worker.StartAsync();
        await Worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));

        Producer = await TestProducer.StartAsync();
    }

    public static Dictionary<string, string?> WorkerSettings(Uri sim) => new()
    {
        ["ConnectionStrings:RabbitMq"] = TestEnvironment.RabbitMq,
        ["ConnectionStrings:Postgres"] = TestEnvironment.Postgres,
        ["Providers:gemini:BaseUrl"] = new Uri(sim, "gemini").ToString(),
        ["Providers:gemini:ApiKey"] = "sim-gemini-key",
        ["Providers:gemini:Timeout"] = GeminiTimeout.ToString(),
        ["Providers:openai:BaseUrl"] = new Uri(sim, "openai/v1").ToString(),
        ["Providers:openai:ApiKey"] = "sim-openai-key",
        ["Providers:openai:Timeout"] = "00:00:10",
        // Same shape as the default chain, with backoffs short enough for a test suite.
        ["Chains:default:0:BaseDelay"] = "00:00:00.050",
        ["Chains:default:0:MaxDelay"] = "00:00:00.200",
        ["Chains:default:1:BaseDelay"] = "00:00:00.050",
        ["Chains:default:1:MaxDelay"] = "00:00:00.200",
        ["Chains:fast:0:BaseDelay"] = "00:00:00.050",
        ["Chains:fast:0:MaxDelay"] = "00:00:00.200",
        ["Chains:fast:1:BaseDelay"] = "00:00:00.050",
        ["Chains:fast:1:MaxDelay"] = "00:00:00.200",
        // These tests share one worker: a breaker opened by one scenario must not skip providers in the next.
        // Breaker behaviour has tests of its own.
        ["ProviderHealth:MinimumThroughput"] = "10000",
        // No pings (they would add simulator calls and isolate breakers mid-scenario) and no alerts here.
        ["ProviderHealth:PingInterval"] = "00:00:00",
        ["ProviderHealth:AlertInterval"] = "00:00:00",
        // One tenant limited (TenantLimitTests); every other tenant, and requests without one, stay unlimited.
        [$"TenantLimits:Tenants:{BurstingTenant}:MaxConcurrency"] = "2",
    };

    /// <summary>The only tenant with a concurrency limit in these tests: 2 requests at once.</summary>
    public const string BurstingTenant = "it-bursting-tenant";

    public async Task DisposeAsync()
    {
        await Producer.DisposeAsync();
        await Worker.StopAsync();
        await Worker.DisposeAsync();
        await Simulator.StopAsync();
        await Simulator.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>
{
    public const string Name = "pipeline";
}
