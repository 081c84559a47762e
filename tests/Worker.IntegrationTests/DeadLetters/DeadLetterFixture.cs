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
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Persistence;
using Worker.Simulator;
using Worker.Simulator.Calls;

namespace Worker.IntegrationTests.DeadLetters;

/// <summary>
/// The pipeline on real parts (simulator over HTTP, RabbitMQ, PostgreSQL) with the ops routes on, a second chain to
/// redirect replays to (<c>openai-only</c>), a chain of this collection's own for bulk scenarios (<c>dl-bulk</c>, the
/// default chain's shape) so "replay everything matching" only ever matches rows these tests parked, a replay rate fast
/// enough for a test suite, and health pings off so the simulator's call counts are the requests' calls alone.
/// </summary>
public sealed class DeadLetterFixture : IAsyncLifetime
{
    public const string Key = "dead-letter-integration-key-0123456789";
    public const string BulkChain = "dl-bulk";
    public const string OpenAIOnly = "openai-only";

    /// <summary>
    /// The last-resort tests' chain (LastResort/LastResortTests): the default chain's shape without retries, with a response
    /// cache and a template. Its own chain, so its cache entries and parked requests are these tests' alone.
    /// </summary>
    public const string LastResortChain = "lr-chain";

    /// <summary>The template of <see cref="LastResortChain"/>.</summary>
    public const string LastResortTemplate = "Hi {name}, thanks for your message about {topic}. We will get back to you shortly.";

    /// <summary>A chain no test sends requests to: it is never healthy.</summary>
    public const string NeverCalled = "dl-never-called";

    public WebApplication Simulator { get; private set; } = null!;

    public SimulatorState Sim { get; private set; } = null!;

    public WebApplication Worker { get; private set; } = null!;

    public TestProducer Producer { get; private set; } = null!;

    public NpgsqlDataSource Database { get; } = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    /// <summary>Sends the ops token.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Sends no Authorization header.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        Simulator = SimulatorApp.Build(["--urls", "http://127.0.0.1:0"]);
        await Simulator.StartAsync();
        Sim = Simulator.Services.GetRequiredService<SimulatorState>();

        var settings = PipelineFixture.WorkerSettings(Simulator.GetBaseAddress());
        settings["OPS_API_KEY"] = Key;
        settings["Retention:Days"] = "0";
        settings["ProviderHealth:PingInterval"] = "00:00:00";
        settings["ProviderHealth:SyncInterval"] = "00:00:00";
        settings["ProviderHealth:AlertInterval"] = "00:00:00";
        settings["DeadLetters:ReplayPerSecond"] = "200";
        settings["DeadLetters:OperationPollInterval"] = "00:00:00.500";
        settings[$"Chains:{OpenAIOnly}:0:Provider"] = "openai";
        settings[$"Chains:{OpenAIOnly}:0:Model"] = "gpt-4o-mini";
        settings[$"Chains:{OpenAIOnly}:0:MaxRetries"] = "0";
        settings[$"Chains:{NeverCalled}:0:Provider"] = "openai";
        settings[$"Chains:{NeverCalled}:0:Model"] = "model-no-test-calls";
        string[][] bulk = [["gemini", "gemini-2.5-pro", "2"], ["openai", "o3-mini", "1"]];
        for (var i = 0; i < bulk.Length; i++)
        {
            settings[$"Chains:{BulkChain}:{i}:Provider"] = bulk[i][0];
            settings[$"Chains:{BulkChain}:{i}:Model"] = bulk[i][1];
            settings[$"Chains:{BulkChain}:{i}:MaxRetries"] = bulk[i][2];
            settings[$"Chains:{BulkChain}:{i}:BaseDelay"] = "00:00:00.050";
            settings[$"Chains:{BulkChain}:{i}:MaxDelay"] = "00:00:00.200";
        }

        for (var i = 0; i < bulk.Length; i++)
        {
            settings[$"Chains:{LastResortChain}:{i}:Provider"] = bulk[i][0];
            settings[$"Chains:{LastResortChain}:{i}:Model"] = bulk[i][1];
            settings[$"Chains:{LastResortChain}:{i}:MaxRetries"] = "0";
        }

        settings[$"LastResort:Chains:{LastResortChain}:Cache:Enabled"] = "true";
        settings[$"LastResort:Chains:{LastResortChain}:Cache:TtlSeconds"] = "3600";
        settings[$"LastResort:Chains:{LastResortChain}:Cache:StaleSeconds"] = "86400";
        settings[$"LastResort:Chains:{LastResortChain}:Template"] = LastResortTemplate;
        settings[$"LastResort:Chains:{LastResortChain}:TemplateMissingValue"] = "your request";

        Worker = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await AuditSchema.EnsureCurrentAsync(Worker.Services.GetRequiredService<NpgsqlDataSource>());
        await Worker.StartAsync();
        await Worker.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        Producer = await TestProducer.StartAsync("it-dead-letter-results");

        Client = new HttpClient { BaseAddress = Worker.GetBaseAddress() };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Anonymous = new HttpClient { BaseAddress = Worker.GetBaseAddress() };
    }

    /// <summary>POSTs <paramref name="body"/> as ops user <paramref name="user"/>, checks the status and returns the answer.</summary>
    public async Task<JsonNode> PostAsync(string url, object body, HttpStatusCode expected, string? user = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        if (user is not null)
            request.Headers.Add("X-Ops-User", user);
        using var response = await Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"POST {url}: expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Polls the operation until it is completed and none of its replayed requests is still in flight.</summary>
    public Task<JsonNode> WaitForOperationAsync(Guid operationId) =>
        Eventually.ValueAsync(
            () => Ops.HttpJson.GetJsonAsync(Client, $"/dead-letters/operations/{operationId}"),
            operation => (string?)operation["status"] == "completed" && (int?)operation["outcomes"]?["pending"] is null or 0,
            TestEnvironment.ResultTimeout, $"replay operation {operationId} to complete with no replayed request pending");

    public async Task DisposeAsync()
    {
        Client?.Dispose();
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
public sealed class DeadLetterCollection : ICollectionFixture<DeadLetterFixture>
{
    public const string Name = "dead-letters";
}
