using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Audit;
using Worker.Contracts;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.IntegrationTests.Ops;
using Worker.Persistence;
using Worker.Simulator;
using Worker.Simulator.Calls;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Browser;

/// <summary>
/// What the console shows, on real parts: the simulator over HTTP, the worker host as Program.cs builds it with the ops
/// routes on (so /console/ and the API it reads share one port), real RabbitMQ and PostgreSQL, and a producer. A little
/// traffic is sent first (answers, one fallback) so the tiles and charts have figures. Each test that parks requests
/// uses a chain of this run's own, so a dead-letter group and its count are that test's alone.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    public const string Key = "console-integration-key-0123456789";

    /// <summary>Unique per run: the parking chains are named after it, so their groups never hold an earlier run's rows.</summary>
    public string Run { get; } = Guid.NewGuid().ToString("N")[..8];

    /// <summary>The chain the replay test parks on (gemini, then openai, no retries).</summary>
    /// <summary>The first step's model of every chain here: a Gemini model name no other test calls.</summary>
    public const string PrimaryModel = "console-flash";

    /// <summary>The fallback step's model: an OpenAI model name no other test calls.</summary>
    public const string FallbackModel = "console-mini";

    /// <summary>The chain of the fixture's first traffic (three answers, one fallback).</summary>
    public string TrafficChain => $"console-traffic-{Run}";

    public string ReplayChain => $"console-replay-{Run}";

    /// <summary>The chain the lookup test parks on.</summary>
    public string LookupChain => $"console-lookup-{Run}";

    public WebApplication Simulator { get; private set; } = null!;

    public SimulatorState Sim { get; private set; } = null!;

    public WebApplication Worker { get; private set; } = null!;

    public TestProducer Producer { get; private set; } = null!;

    public NpgsqlDataSource Database { get; } = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    /// <summary>The worker's address: the console is at <c>console/</c> under it.</summary>
    public Uri BaseAddress => Worker.GetBaseAddress();

    /// <summary>Sends the ops token, as the console does.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Sends no Authorization header, as a browser fetching the console's static shell.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        Simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await Simulator.StartAsync();
        Sim = Simulator.Services.GetRequiredService<SimulatorState>();

        var settings = PipelineFixture.WorkerSettings(Simulator.GetBaseAddress());
        // In-memory settings come last, so this wins over an OPS_API_KEY exported in the shell running the tests.
        settings["OPS_API_KEY"] = Key;
        settings["Retention:Days"] = "0";
        settings["DeadLetters:ReplayPerSecond"] = "200";
        settings["DeadLetters:OperationPollInterval"] = "00:00:00.500";
        // Models of their own, priced: the live figures that rank routed requests are per model and read from the shared
        // audit trail, so failures injected here must not make a later test's gemini-2.5-flash look critical.
        foreach (var model in new[] { PrimaryModel, FallbackModel })
        {
            settings[$"Pricing:{model}:InputPerMillion"] = "0.30";
            settings[$"Pricing:{model}:OutputPerMillion"] = "2.50";
        }

        foreach (var chain in new[] { TrafficChain, ReplayChain, LookupChain })
        {
            (string Provider, string Model)[] steps = [("gemini", PrimaryModel), ("openai", FallbackModel)];
            for (var i = 0; i < steps.Length; i++)
            {
                settings[$"Chains:{chain}:{i}:Provider"] = steps[i].Provider;
                settings[$"Chains:{chain}:{i}:Model"] = steps[i].Model;
                settings[$"Chains:{chain}:{i}:MaxRetries"] = "0";
                settings[$"Chains:{chain}:{i}:BaseDelay"] = "00:00:00.050";
                settings[$"Chains:{chain}:{i}:MaxDelay"] = "00:00:00.200";
            }
        }

        Worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await AuditSchema.EnsureCurrentAsync(Worker.Services.GetRequiredService<NpgsqlDataSource>());
        await Worker.StartAsync();
        await Worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        Producer = await TestProducer.StartAsync("it-console-results");

        Client = new HttpClient { BaseAddress = BaseAddress };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Anonymous = new HttpClient { BaseAddress = BaseAddress };

        await SendTrafficAsync();
    }

    /// <summary>Three answers from the first step and one from the fallback, so availability, p95, cost and fallback rate have figures.</summary>
    private async Task SendTrafficAsync()
    {
        for (var i = 0; i < 3; i++)
            await Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest($"console traffic {i}", TrafficChain));
        Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        var fellBack = await Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest("console fallback", TrafficChain));
        Assert.True(fellBack.FallbackUsed);
        Sim.Clear();
    }

    /// <summary>Parks <paramref name="count"/> requests on <paramref name="chain"/>: every provider fails until the simulator is cleared.</summary>
    public async Task<IReadOnlyList<Guid>> ParkAsync(string chain, int count)
    {
        Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
        var parked = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            var request = TestProducer.NewRequest($"park me {i}", chain);
            var failed = await Producer.RequestAsync<CompletionFailed>(request);
            Assert.Equal((FailureReasons.ProvidersExhausted, true), (failed.Reason, failed.DeadLettered));
            parked.Add(request.RequestId);
        }

        return parked;
    }

    public Task<JsonNode> GetJsonAsync(string url, HttpStatusCode expected = HttpStatusCode.OK) => Client.GetJsonAsync(url, expected);

    /// <summary>POSTs <paramref name="body"/>, checks the status and returns the answer.</summary>
    public async Task<JsonNode> PostAsync(string url, object body, HttpStatusCode expected)
    {
        using var response = await Client.PostAsJsonAsync(url, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"POST {url}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Polls the operation until it is completed and none of its replayed requests is still in flight.</summary>
    public Task<JsonNode> WaitForOperationAsync(Guid operationId) =>
        Eventually.ValueAsync(
            () => GetJsonAsync($"/dead-letters/operations/{operationId}"),
            operation => (string?)operation["status"] == "completed" && (int?)operation["outcomes"]?["pending"] is null or 0,
            TestEnvironment.ResultTimeout, $"replay operation {operationId} to complete with no replayed request pending");

    public async Task DisposeAsync()
    {
        if (Client is not null)
        {
            // Whatever a failed test left parked on this run's chains is archived, so no later run replays it.
            foreach (var chain in new[] { ReplayChain, LookupChain })
            {
                using var _ = await Client.PostAsJsonAsync("/dead-letters/archive", new { filter = new { chain } });
            }

            Client.Dispose();
        }

        Anonymous?.Dispose();

        if (Producer is not null)
            await Producer.DisposeAsync();
        if (Worker is not null)
        {
            await Worker.StopAsync();
            await Worker.DisposeAsync();
        }

        if (Simulator is not null)
        {
            await Simulator.StopAsync();
            await Simulator.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleFixture>
{
    public const string Name = "console";
}
