using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;
using Worker.Health;

namespace Worker.Tests.Health;

/// <summary>/health/ready answers anyone: a status and a fixed description, never a check's raw error text.</summary>
public class HealthEndpointsTests
{
    private static async Task<(JsonElement Json, string Text)> Write(HealthReport report)
    {
        var http = new DefaultHttpContext();
        using var body = new MemoryStream();
        http.Response.Body = body;
        await HealthEndpoints.WriteAsync(http, report);
        var text = System.Text.Encoding.UTF8.GetString(body.ToArray());
        return (JsonDocument.Parse(text).RootElement, text);
    }

    private static HealthReportEntry Entry(HealthStatus status, string? description, Exception? exception = null) =>
        new(status, description, TimeSpan.FromMilliseconds(3), exception, null);

    [Fact]
    public async Task Unhealthy_checks_answer_a_generic_description_and_no_error_text()
    {
        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["postgres"] = Entry(HealthStatus.Unhealthy, "PostgreSQL is unreachable: Failed to connect to 10.1.2.3:5432",
                new NpgsqlException("Failed to connect to 10.1.2.3:5432")),
            ["masstransit-bus"] = Entry(HealthStatus.Unhealthy, "Not ready: Broker unreachable: worker@rabbit.internal:5672/prod"),
        }, TimeSpan.FromMilliseconds(5));

        var (json, text) = await Write(report);

        Assert.Equal("Unhealthy", json.GetProperty("status").GetString());
        Assert.Equal("database unreachable", json.GetProperty("checks").GetProperty("postgres").GetProperty("description").GetString());
        Assert.Equal("message bus not ready", json.GetProperty("checks").GetProperty("masstransit-bus").GetProperty("description").GetString());
        Assert.DoesNotContain("10.1.2.3", text);
        Assert.DoesNotContain("rabbit.internal", text);
    }

    [Fact]
    public async Task Healthy_checks_answer_their_status_only()
    {
        var report = new HealthReport(new Dictionary<string, HealthReportEntry>
        {
            ["postgres"] = Entry(HealthStatus.Healthy, null),
            ["masstransit-bus"] = Entry(HealthStatus.Healthy, "Ready"),
            ["other"] = Entry(HealthStatus.Degraded, "disk at 91 % on /var/lib/worker"),
        }, TimeSpan.FromMilliseconds(5));

        var (json, text) = await Write(report);

        Assert.Equal("Healthy", json.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("checks").GetProperty("masstransit-bus").GetProperty("description").ValueKind);
        Assert.Equal("not ready", json.GetProperty("checks").GetProperty("other").GetProperty("description").GetString());
        Assert.DoesNotContain("/var/lib", text);
    }

    [Fact]
    public async Task An_unreachable_database_is_reported_generically_and_its_error_goes_to_the_log()
    {
        // Port 1 on the loopback refuses at once: no server, no wait.
        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Database=llm_worker;Username=worker;Password=s3cret-pw;Timeout=5");
        var logger = new RecordingLogger();

        var result = await new PostgresHealthCheck(dataSource, logger).CheckHealthAsync(new HealthCheckContext());

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal("database unreachable", result.Description);
        Assert.Null(result.Exception);
        var line = Assert.Single(logger.Entries);
        Assert.Contains("127.0.0.1", line);
        Assert.DoesNotContain("s3cret", line);
    }

    private sealed class RecordingLogger : ILogger<PostgresHealthCheck>
    {
        public List<string> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(formatter(state, exception));
    }
}
