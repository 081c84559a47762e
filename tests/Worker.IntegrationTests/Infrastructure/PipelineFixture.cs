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
            PipelineSettings(sim)));
        await AuditSchema.EnsureCurrentAsync(Worker.Services.GetRequiredService<NpgsqlDataSource>());
        Traffic = WorkerTraffic.AttachTo(Worker.Services.GetRequiredService<IBus>());
        await Worker.StartAsync();
        await Worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));

        Producer = await TestProducer.StartAsync();
    }

    /// <summary>The settings of this fixture's worker: <see cref="WorkerSettings"/> and the chains of the tool conversation tests.</summary>
    private static Dictionary<string, string?> PipelineSettings(Uri sim)
    {
        var settings = WorkerSettings(sim);
        foreach (var (key, value) in AgentChains())
            settings[key] = value;
        return settings;
    }

    /// <summary>One chain per primary wire format, for tool conversations that fall back across formats.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> AgentChains() =>
    [
        .. AgentChain("agent-gemini", ("gemini", "gemini-2.5-flash"), ("openai", "gpt-4o-mini")),
        .. AgentChain("agent-openai", ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")),
        .. AgentChain("agent-anthropic", ("anthropic", "claude-sonnet-4-5"), ("gemini", "gemini-2.5-flash")),
        .. AgentChain("agent-mistral", ("openai", "gpt-4o-mini"), ("mistral", "mistral-small-latest")),
        .. AgentChain("agent-local", ("ollama", NoToolsModel), ("groq", "llama-3.3-70b-versatile"), ("openrouter", "openai/gpt-4o-mini")),
    ];

    /// <summary>The settings other fixtures build their workers from (whose tests count the chains' provider/model pairs).</summary>
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
        // Tool conversations (Structured/ToolConversationTests): Anthropic natively, the OpenAI-compatible presets, each
        // on its simulator target, and one chain per primary wire format.
        ["Providers:anthropic:Kind"] = "Anthropic",
        ["Providers:anthropic:BaseUrl"] = new Uri(sim, "anthropic").ToString(),
        ["Providers:anthropic:ApiKey"] = "sim-anthropic-key",
        ["Providers:mistral:Preset"] = "mistral",
        ["Providers:mistral:BaseUrl"] = new Uri(sim, "mistral/v1").ToString(),
        ["Providers:mistral:ApiKey"] = "sim-mistral-key",
        ["Providers:groq:Preset"] = "groq",
        ["Providers:groq:BaseUrl"] = new Uri(sim, "groq/v1").ToString(),
        ["Providers:groq:ApiKey"] = "sim-groq-key",
        ["Providers:openrouter:Preset"] = "openrouter",
        ["Providers:openrouter:BaseUrl"] = new Uri(sim, "openrouter/v1").ToString(),
        ["Providers:openrouter:ApiKey"] = "sim-openrouter-key",
        ["Providers:ollama:Preset"] = "ollama",
        ["Providers:ollama:BaseUrl"] = new Uri(sim, "ollama/v1").ToString(),
        [$"Capabilities:{NoToolsModel}:Tools"] = "false",
        // These tests share one worker: a breaker opened by one scenario must not skip providers in the next.
        // Breaker behaviour has tests of its own.
        ["ProviderHealth:MinimumThroughput"] = "10000",
        // No pings (they would add simulator calls and isolate breakers mid-scenario) and no alerts here.
        ["ProviderHealth:PingInterval"] = "00:00:00",
        ["ProviderHealth:AlertInterval"] = "00:00:00",
        // One tenant limited (TenantLimitTests); every other tenant, and requests without one, stay unlimited.
        [$"TenantLimits:Tenants:{BurstingTenant}:MaxConcurrency"] = "2",
    };

    /// <summary>A local model configured without tool support (Capabilities), first in the <c>agent-local</c> chain.</summary>
    public const string NoToolsModel = "tiny-local";

    /// <summary>The settings of a chain of <paramref name="steps"/>, with backoffs short enough for a test suite.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> AgentChain(string name, params (string Provider, string Model)[] steps) =>
        steps.SelectMany((step, i) => new Dictionary<string, string?>
        {
            [$"Chains:{name}:{i}:Provider"] = step.Provider,
            [$"Chains:{name}:{i}:Model"] = step.Model,
            [$"Chains:{name}:{i}:BaseDelay"] = "00:00:00.050",
            [$"Chains:{name}:{i}:MaxDelay"] = "00:00:00.200",
        });

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
