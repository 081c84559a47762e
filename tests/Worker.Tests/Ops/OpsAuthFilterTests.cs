using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Ops;

namespace Worker.Tests.Ops;

public class OpsAuthFilterTests
{
    private const string Key = "0123456789abcdef-ops-key";

    private readonly RecordingLogger _logger = new();

    private async Task<(object? Result, HttpContext Http, bool HandlerRan)> Call(string? configuredKey, string? authorization)
    {
        var http = new DefaultHttpContext();
        http.Request.Path = "/requests";
        http.Connection.RemoteIpAddress = IPAddress.Loopback;
        if (authorization is not null)
            http.Request.Headers.Authorization = authorization;

        var handlerRan = false;
        var filter = new OpsAuthFilter(new OpsKey(configuredKey), _logger);
        var result = await filter.InvokeAsync(EndpointFilterInvocationContext.Create(http), _ =>
        {
            handlerRan = true;
            return ValueTask.FromResult<object?>("handler");
        });
        return (result, http, handlerRan);
    }

    [Fact]
    public async Task No_configured_key_answers_404_saying_why_and_never_runs_the_handler()
    {
        var (result, _, handlerRan) = await Call(null, "Bearer " + Key);

        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(404, problem.StatusCode);
        Assert.Contains("OPS_API_KEY is not set", problem.ProblemDetails.Detail);
        Assert.False(handlerRan);
    }

    [Theory]
    [InlineData(null, "Bearer realm=\"ops\"")]
    [InlineData("Bearer wrong-token", "Bearer realm=\"ops\", error=\"invalid_token\"")]
    public async Task A_missing_or_wrong_token_answers_401_with_a_bearer_challenge(string? authorization, string challenge)
    {
        var (result, http, handlerRan) = await Call(Key, authorization);

        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(401, problem.StatusCode);
        Assert.Equal(challenge, http.Response.Headers.WWWAuthenticate.ToString());
        Assert.False(handlerRan);
    }

    [Fact]
    public async Task The_right_token_runs_the_handler()
    {
        var (result, _, handlerRan) = await Call(Key, "Bearer " + Key);

        Assert.True(handlerRan);
        Assert.Equal("handler", result);
    }

    [Fact]
    public async Task A_rejected_call_is_logged_without_the_token()
    {
        const string presented = "attacker-guess-1234567890";
        await Call(Key, "Bearer " + presented);

        var entry = Assert.Single(_logger.Entries);
        Assert.Contains("WrongToken", entry);
        Assert.Contains("/requests", entry);
        Assert.DoesNotContain(presented, entry);
        Assert.DoesNotContain(Key, entry);
    }

    [Fact]
    public void A_configured_key_shorter_than_16_characters_stops_the_host_naming_the_key()
    {
        var services = Services(new() { ["OPS_API_KEY"] = "tiny-key" });

        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<OpsOptions>>().Value);
        Assert.Contains("OPS_API_KEY must be at least 16 characters", e.Message);
        Assert.DoesNotContain("tiny-key", e.Message);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("  ", false)]
    [InlineData("  " + Key + "\n", true)]
    public void The_key_comes_from_OPS_API_KEY_trimmed(string? configured, bool enabled)
    {
        var services = Services(new() { ["OPS_API_KEY"] = configured });

        var key = services.GetRequiredService<OpsKey>();
        Assert.Equal(enabled, key.Enabled);
        Assert.Equal(enabled ? OpsAccess.Allowed : OpsAccess.Disabled, key.Check("Bearer " + Key));
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddOpsApi(configuration).BuildServiceProvider();
    }

    private sealed class RecordingLogger : ILogger<OpsAuthFilter>
    {
        public List<string> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(formatter(state, exception));
    }
}
