using System.Net;
using System.Net.Http.Headers;
using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Faults;

/// <summary>
/// A run with known fake keys, through the paths most likely to leak one: upstream errors that echo the request's
/// headers (credentials included), OpenAI's 401 that quotes the key masked, Gemini's API_KEY_INVALID, a parked request,
/// the ops API with the right and a wrong token. Afterwards every line the worker process wrote (at Debug) and every
/// text column of every audit table is searched: no key, nor a distinctive part of one, is anywhere.
/// </summary>
[Collection(FaultCollection.Name)]
public sealed class SecretsTests(FaultFixture fixture) : IAsyncLifetime
{
    // Not shaped like a provider key: only the exact-value redaction can catch it.
    private const string GeminiKey = "fake-gemini-secret-7f3a9c1e5b2d";
    private const string OpenAIKey = "sk-fake-openai-0123456789abcdefXYZ";
    private const string OpsKey = "ops-fake-token-0123456789abcdef";

    private readonly FaultFixture _f = fixture;

    public async Task InitializeAsync()
    {
        _f.Sim.Clear();
        await _f.CleanSlateAsync();
    }

    [Fact]
    public async Task Known_fake_keys_never_reach_a_log_line_a_result_or_an_audit_row()
    {
        // Gemini: an echo of the headers (500, retried), then Google's answer to a bad key. OpenAI: an echo, then its 401.
        _f.Sim.SetProfile("gemini", FaultProfile.Scripted("echo", "bad_key"));
        _f.Sim.SetProfile("openai", FaultProfile.Scripted("echo", "401"));
        var environment = _f.WorkerEnvironment();
        environment["GEMINI_API_KEY"] = GeminiKey;
        environment["OPENAI_API_KEY"] = OpenAIKey;
        environment["OPS_API_KEY"] = OpsKey;
        // Everything, failure details included.
        environment["Logging:LogLevel:Default"] = "Debug";
        environment["Logging:LogLevel:Worker"] = "Debug";
        environment["Logging:LogLevel:Worker.Messaging"] = "Debug";
        environment["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug";
        environment["Logging:LogLevel:System.Net.Http.HttpClient"] = "Debug";
        var request = TestProducer.NewRequest($"keep my keys {Guid.NewGuid():N}");
        WorkerProcess? worker = null;
        try
        {
            await BoundedAsync(async () =>
            {
                worker = await WorkerProcess.StartAsync(environment);
                var failed = Assert.IsType<CompletionFailed>(await _f.Producer.RequestAsync<CompletionFailed>(request));
                Assert.True(failed.DeadLettered);
                Assert.Equal(4, _f.Sim.GetCounters().Total);

                using var ops = new HttpClient { BaseAddress = worker.BaseAddress };
                ops.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", OpsKey);
                foreach (var route in new[] { $"/requests/{request.RequestId}", $"/dead-letters/{request.RequestId}", "/providers", "/dead-letters/groups" })
                {
                    using var response = await ops.GetAsync(route);
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {route}: {(int)response.StatusCode}");
                    AssertNoSecret($"GET {route}", await response.Content.ReadAsStringAsync());
                }

                using var wrong = new HttpRequestMessage(HttpMethod.Get, "/providers");
                wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OpenAIKey);
                using var refused = await ops.SendAsync(wrong);
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

                // Stop it so everything it had to say is written.
                await worker.TerminateAsync(TimeSpan.FromSeconds(60));
                AssertNoSecret("the CompletionFailed", failed.Error);
                Assert.NotEmpty(worker.Output);
                foreach (var line in worker.Output)
                    AssertNoSecret("a worker log line", line);
                Assert.Contains(worker.Output, line => line.Contains("[redacted]", StringComparison.Ordinal));
                await AssertNoSecretInTheDatabaseAsync();
            });
        }
        finally
        {
            if (worker is not null)
                await worker.DisposeAsync();
        }
    }

    /// <summary>The keys, and a distinctive part of each (a masked echo shows pieces, never all of it).</summary>
    private static readonly string[] Secrets = [GeminiKey, OpenAIKey, OpsKey, "secret-7f3a9c1e5b2d", "openai-0123456789abcdef", "token-0123456789abcdef"];

    private static void AssertNoSecret(string where, string? text)
    {
        foreach (var secret in Secrets)
            Assert.False(text?.Contains(secret, StringComparison.Ordinal) == true, $"{where} contains a key: {text}");
    }

    private async Task AssertNoSecretInTheDatabaseAsync()
    {
        var columns = new List<(string Table, string Column)>();
        await using (var command = _f.Database.CreateCommand("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb') AND table_name <> '__EFMigrationsHistory'
            ORDER BY 1, 2
            """))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
                columns.Add((reader.GetString(0), reader.GetString(1)));
        }

        Assert.Contains(("attempts", "detail"), columns);
        Assert.Contains(("dead_letters", "error"), columns);
        foreach (var (table, column) in columns)
        {
            foreach (var secret in Secrets)
            {
                await using var search = _f.Database.CreateCommand($"SELECT count(*) FROM \"{table}\" WHERE \"{column}\"::text LIKE '%' || $1 || '%'");
                search.Parameters.Add(new NpgsqlParameter { Value = secret });
                Assert.True((long)(await search.ExecuteScalarAsync())! == 0, $"{table}.{column} holds a key ({secret[..6]}...)");
            }
        }
    }

    private static Task BoundedAsync(Func<Task> scenario) => WorkerProcessScope.RunAsync(TimeSpan.FromMinutes(3), scenario);

    public Task DisposeAsync()
    {
        _f.Sim.Clear();
        return Task.CompletedTask;
    }
}
