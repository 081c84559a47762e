using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Worker.Hosting;

namespace Worker.Tests.Hosting;

/// <summary>The whole host as Program.cs builds it, with the shipped appsettings.json: what starts and what does not.</summary>
public class WorkerAppConfigurationTests
{
    // appsettings.json holds everything but the connection strings and the keys.
    private static readonly Dictionary<string, string?> Deployment = new()
    {
        ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@localhost:5672/",
        ["ConnectionStrings:Postgres"] = "Host=localhost;Database=llm_worker;Username=worker;Password=worker",
        ["GEMINI_API_KEY"] = "test-gemini-key",
        ["OPENAI_API_KEY"] = "test-openai-key",
    };

    private static async Task<IReadOnlyList<string>> StartupProblems(Dictionary<string, string?> settings, Action<WebApplication>? inspect = null)
    {
        try
        {
            // Build runs the start-up validation, as for Program.cs.
            await using var app = WorkerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(settings));
            inspect?.Invoke(app);
            return [];
        }
        catch (Exception e) when (ConfigurationProblems.Of(e) is { Count: > 0 } problems)
        {
            return problems;
        }
    }

    [Fact]
    public async Task The_shipped_appsettings_start_and_the_host_waits_for_the_stop_timeout_plus_30_s()
    {
        TimeSpan? shutdown = null;

        Assert.Empty(await StartupProblems(Deployment, app => shutdown = app.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout));
        Assert.Equal(TimeSpan.FromSeconds(90), shutdown);
    }

    [Fact]
    public async Task Every_problem_is_reported_at_once_each_naming_its_key()
    {
        var settings = new Dictionary<string, string?>(Deployment)
        {
            ["Messaging:StopTimeout"] = "30",
            ["Chains:default:0:Timeout"] = "45",
            ["Pacing:gemni:RequestsPerMinute"] = "15",
            ["ProviderHealth:PingInterval"] = "10",
        };

        var problems = await StartupProblems(settings);

        Assert.True(problems.Count == 4, string.Join(Environment.NewLine, problems));
        Assert.Contains(problems, p => p.StartsWith("Messaging:StopTimeout must be between 00:00:01 and 01:00:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30?", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Chains:default:0:Timeout must be between 00:00:00.001 and 00:30:00, was 45.00:00:00: a bare number is read as days, did you mean 00:00:45?", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Pacing:gemni is not a configured provider; configured: gemini, openai", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("ProviderHealth:PingInterval must be 0 (off) or between 00:00:01 and 01:00:00, was 10.00:00:00: a bare number is read as days, did you mean 00:00:10?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_broker_uri_without_credentials_stops_the_worker()
    {
        var problem = Assert.Single(await StartupProblems(new Dictionary<string, string?>(Deployment) { ["ConnectionStrings:RabbitMq"] = "amqp://localhost:5672/" }));

        Assert.StartsWith("ConnectionStrings:RabbitMq (env ConnectionStrings__RabbitMq) has no user name and password", problem);
    }
}
