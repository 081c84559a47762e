using System.Net.Http.Headers;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Quartz;
using Worker.Chain;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.ProviderHealth;
using Worker.Simulator;
using Worker.Simulator.Calls;

namespace Worker.IntegrationTests.ProviderHealth;

/// <summary>
/// A worker with real breaker settings (the pipeline fixture turns them off) against the simulator, with a third
/// provider "paced" (15 requests/min, chain "paced": paced, then openai). Its Quartz scheduler is not started: the
/// tests run pings, the sync and alert evaluations themselves, at instants of their choosing, so nothing fires between
/// a test's steps. The health tables belong to these tests and are emptied before and after.
/// </summary>
public sealed class HealthFixture : IAsyncLifetime
{
    public const string OpsKey = "health-integration-key-0123456789";
    public const string Gemini = "gemini";
    public const string GeminiModel = "gemini-2.5-pro";
    public const string PacedChain = "paced";

    private const string EmptyTables = "DELETE FROM provider_pings; DELETE FROM provider_health_slots; DELETE FROM breaker_events; DELETE FROM provider_alerts;";

    private long _slots;

    public NpgsqlDataSource Database { get; } = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    /// <summary>Unique per run, for provider names of seeded rows.</summary>
    public string Run { get; } = Guid.NewGuid().ToString("N")[..8];

    public WebApplication Simulator { get; private set; } = null!;

    public SimulatorState Sim { get; private set; } = null!;

    /// <summary>Instance "it-a".</summary>
    public WebApplication Worker { get; private set; } = null!;

    public TestProducer Producer { get; private set; } = null!;

    /// <summary>The ops API of <see cref="Worker"/>, with the bearer token.</summary>
    public HttpClient Ops { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        await ExecuteAsync(EmptyTables);
        Simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await Simulator.StartAsync();
        Sim = Simulator.Services.GetRequiredService<SimulatorState>();
        Worker = await StartWorkerAsync("it-a");
        Ops = new HttpClient { BaseAddress = Worker.GetBaseAddress() };
        Ops.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OpsKey);
        Producer = await TestProducer.StartAsync("it-health-results");
    }

    public Dictionary<string, string?> Settings(string instance)
    {
        var sim = Simulator.GetBaseAddress();
        var settings = PipelineFixture.WorkerSettings(sim);
        settings["ProviderHealth:InstanceName"] = instance;
        // Sensitive breakers (4 calls, half of them failed: the defaults before they asked for real evidence), so a
        // request or two opens one, and a break long enough that no test races a half-open trial.
        settings["ProviderHealth:MinimumThroughput"] = "4";
        settings["ProviderHealth:FailureRatio"] = "0.5";
        settings["ProviderHealth:BreakDuration"] = "00:05:00";
        settings["ProviderHealth:PingInterval"] = "00:00:30";
        settings["ProviderHealth:PingTimeout"] = "00:00:05";
        settings["ProviderHealth:SyncInterval"] = "00:00:05";
        settings["ProviderHealth:AlertInterval"] = "00:00:30";
        // Pacing per instance: these workers share a database with every other test's, whose heartbeats would otherwise
        // split the paced provider's budget among them (InstanceRegistryTests covers the split).
        settings["ProviderHealth:HeartbeatInterval"] = "00:00:00";
        settings["OPS_API_KEY"] = OpsKey;
        settings["Retention:Days"] = "0";
        settings["Providers:paced:Kind"] = "Gemini";
        settings["Providers:paced:BaseUrl"] = new Uri(sim, "paced").ToString();
        settings["Providers:paced:ApiKey"] = "sim-paced-key";
        settings["Providers:paced:Timeout"] = "00:00:10";
        settings[$"Chains:{PacedChain}:0:Provider"] = "paced";
        settings[$"Chains:{PacedChain}:0:Model"] = GeminiModel;
        settings[$"Chains:{PacedChain}:0:BaseDelay"] = "00:00:00.050";
        settings[$"Chains:{PacedChain}:0:MaxDelay"] = "00:00:00.200";
        settings[$"Chains:{PacedChain}:1:Provider"] = "openai";
        settings[$"Chains:{PacedChain}:1:Model"] = "o3-mini";
        settings[$"Chains:{PacedChain}:1:BaseDelay"] = "00:00:00.050";
        settings[$"Chains:{PacedChain}:1:MaxDelay"] = "00:00:00.200";
        settings["Pacing:paced:RequestsPerMinute"] = "15";
        return settings;
    }

    /// <summary>Another worker instance on the same database and broker; <paramref name="runScheduler"/> starts its Quartz jobs.</summary>
    public async Task<WebApplication> StartWorkerAsync(string instance, bool runScheduler = false, IDictionary<string, string?>? overrides = null)
    {
        var settings = Settings(instance);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            settings[key] = value;

        var app = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            if (!runScheduler)
                builder.Services.ConfigureAll<QuartzHostedServiceOptions>(o => o.AutoStart = false);
        });
        await AuditSchema.EnsureCurrentAsync(app.Services.GetRequiredService<NpgsqlDataSource>());
        await app.StartAsync();
        // A host stopped before its bus is up leaves a consumer behind on the shared request queue.
        await app.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        return app;
    }

    public static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>Healthy simulator with zeroed counters, every breaker of <paramref name="app"/> (default: the fixture's worker) closed.</summary>
    public async Task ResetAsync(WebApplication? app = null)
    {
        Sim.Clear();
        var services = (app ?? Worker).Services;
        var breakers = services.GetRequiredService<CircuitBreakers>();
        foreach (var pair in services.GetRequiredService<IMonitoredModels>().Models)
            await breakers.PingSucceededAsync(pair.Provider, pair.Model);
    }

    /// <summary>
    /// A scheduled fire time no other test uses, on a 30 s boundary far in the future, so slot claims never collide
    /// within a run; each call moves a day on.
    /// </summary>
    public DateTimeOffset NextScheduledTime() =>
        new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(Interlocked.Increment(ref _slots));

    public async Task ExecuteAsync(string sql)
    {
        await using var command = Database.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        Ops?.Dispose();
        if (Producer is not null)
            await Producer.DisposeAsync();
        if (Worker is not null)
            await StopAsync(Worker);
        if (Simulator is not null)
        {
            await Simulator.StopAsync();
            await Simulator.DisposeAsync();
        }

        await ExecuteAsync(EmptyTables);
        await Database.DisposeAsync();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HealthCollection : ICollectionFixture<HealthFixture>
{
    public const string Name = "provider-health";
}
