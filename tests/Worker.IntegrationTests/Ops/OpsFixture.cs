using System.Net.Http.Headers;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Audit;
using Worker.Hosting;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Migrations;
using Worker.Persistence;
using Worker.Simulator;

namespace Worker.IntegrationTests.Ops;

/// <summary>
/// The worker host as Program.cs builds it, with OPS_API_KEY set, on a free loopback port; clients with and without
/// the token; and rows seeded straight into the audit tables, under provider names of this run's own so the figures
/// the tests expect are not disturbed by rows other tests write. Seeded rows are deleted at the end.
/// </summary>
public sealed class OpsFixture : IAsyncLifetime
{
    public const string Key = "ops-integration-key-0123456789";

    private readonly List<Guid> _seeded = [];

    public NpgsqlDataSource Database { get; } = NpgsqlDataSource.Create(TestEnvironment.Postgres);

    /// <summary>Unique per run: provider names built from it only ever match this run's rows.</summary>
    public string Run { get; } = Guid.NewGuid().ToString("N")[..8];

    public WebApplication Worker { get; private set; } = null!;

    /// <summary>Sends <c>Authorization: Bearer {Key}</c>.</summary>
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Sends no Authorization header.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // The pipeline fixture's step: the migrated schema even under a plain `dotnet test`.
        await AuditDatabase.MigrateAsync(TestEnvironment.Postgres);
        Worker = await StartWorkerAsync(Key);
        Client = new HttpClient { BaseAddress = Worker.GetBaseAddress() };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        Anonymous = new HttpClient { BaseAddress = Worker.GetBaseAddress() };
    }

    /// <summary>A worker host with the pipeline tests' settings and this ops key ("" turns the ops routes off).</summary>
    public static async Task<WebApplication> StartWorkerAsync(string opsKey)
    {
        // No simulator: these tests publish no requests, so no provider is ever called.
        var settings = PipelineFixture.WorkerSettings(new Uri("http://127.0.0.1:9/"));
        // In-memory settings come last, so this wins over an OPS_API_KEY exported in the shell running the tests.
        settings["OPS_API_KEY"] = opsKey;
        // The scheduled sweep stays off here: RetentionTests drive the sweeper with a clock of their own.
        settings["Retention:Days"] = "0";
        var app = WorkerApp.Build(["--urls", "http://127.0.0.1:0"], builder => builder.Configuration.AddInMemoryCollection(settings));
        await app.StartAsync();
        // The bus starts in the background (WaitUntilStarted = false). Stopping it before it is up leaves a consumer
        // behind on the shared request queue, which then takes the pipeline tests' requests: wait until it is up.
        await app.Services.GetRequiredService<IBusControl>().WaitForHealthStatus(BusHealthStatus.Healthy, TimeSpan.FromSeconds(30));
        return app;
    }

    /// <summary>Inserts the requests with their attempts, in the order given (attempt ids follow that order).</summary>
    public async Task SeedAsync(params RequestRow[] requests)
    {
        await using var db = AuditMigrator.CreateContext(Database);
        foreach (var request in requests)
        {
            db.Requests.Add(request);
            // One save per request keeps attempt ids in the order the test listed them.
            await db.SaveChangesAsync();
            _seeded.Add(request.RequestId);
        }
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        Anonymous?.Dispose();
        if (Worker is not null)
        {
            await Worker.StopAsync();
            await Worker.DisposeAsync();
        }

        await using (var command = Database.CreateCommand("DELETE FROM requests WHERE request_id = ANY($1)"))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. _seeded] });
            await command.ExecuteNonQueryAsync();
        }

        await Database.DisposeAsync();
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OpsCollection : ICollectionFixture<OpsFixture>
{
    public const string Name = "ops";
}
