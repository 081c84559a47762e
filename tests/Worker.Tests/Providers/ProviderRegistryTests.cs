using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Anthropic;
using Worker.Providers.Gemini;
using Worker.Providers.OpenAI;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

public class ProviderRegistryTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["Providers:gemini:Kind"] = "Gemini",
        ["Providers:gemini:BaseUrl"] = "http://127.0.0.1:5080/gemini",
        ["Providers:gemini:Timeout"] = "00:00:30",
        ["GEMINI_API_KEY"] = "gemini-key-from-env",
        ["Providers:groq:Kind"] = "openai",
        ["Providers:groq:BaseUrl"] = "https://api.groq.com/openai/v1",
        ["Providers:groq:ApiKeyVariable"] = "GROQ_API_KEY",
        ["GROQ_API_KEY"] = "groq-key-from-env",
    };

    private static ServiceProvider Services(Dictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging();
        services.AddProviders();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static Dictionary<string, string?> With(params (string Key, string? Value)[] changes)
    {
        var settings = new Dictionary<string, string?>(Valid, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in changes)
        {
            settings[key] = value;
        }

        return settings;
    }

    private static IReadOnlyCollection<string> StartupFailures(Dictionary<string, string?> settings)
    {
        using var services = Services(settings);
        // What the host runs at start because of ValidateOnStart.
        var thrown = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        return thrown.Failures.ToList();
    }

    [Fact]
    public void Valid_configuration_creates_one_provider_per_entry_with_case_insensitive_names()
    {
        using var services = Services(Valid);
        services.GetRequiredService<IStartupValidator>().Validate();

        var registry = services.GetRequiredService<ProviderRegistry>();

        Assert.Equal(["gemini", "groq"], registry.Names);
        Assert.IsType<GeminiProvider>(registry.Get("GEMINI"));
        Assert.IsType<OpenAIProvider>(registry.Get("groq"));
        Assert.Same(registry, services.GetRequiredService<IProviderRegistry>());
        Assert.False(registry.TryGet("anthropic", out _));
        var missing = Assert.Throws<KeyNotFoundException>(() => registry.Get("anthropic"));
        Assert.Contains("gemini, groq", missing.Message);
    }

    [Fact]
    public void Anthropic_kind_creates_an_Anthropic_provider_keyed_from_ANTHROPIC_API_KEY()
    {
        using var services = Services(With(
            ("Providers:claude:Kind", "anthropic"),
            ("Providers:claude:BaseUrl", "https://api.anthropic.com"),
            ("ANTHROPIC_API_KEY", "anthropic-key-from-env")));
        services.GetRequiredService<IStartupValidator>().Validate();

        var options = services.GetRequiredService<IOptions<ProvidersOptions>>().Value;

        Assert.Equal(ProviderKind.Anthropic, options["claude"].Kind);
        Assert.Equal("ANTHROPIC_API_KEY", options["claude"].EffectiveApiKeyVariable);
        Assert.Equal("anthropic-key-from-env", options["claude"].ApiKey);
        Assert.IsType<AnthropicProvider>(services.GetRequiredService<ProviderRegistry>().Get("claude"));
    }

    [Fact]
    public void Keys_come_from_ApiKey_first_then_the_named_variable()
    {
        using var services = Services(With(("Providers:gemini:ApiKey", "inline-key")));

        var options = services.GetRequiredService<IOptions<ProvidersOptions>>().Value;

        Assert.Equal("inline-key", options["gemini"].ApiKey);
        Assert.Equal("groq-key-from-env", options["GROQ"].ApiKey);
        Assert.Equal(TimeSpan.FromSeconds(30), options["gemini"].Timeout);
        Assert.Equal(TimeSpan.FromSeconds(60), options["groq"].Timeout);
    }

    [Fact]
    public void Options_ToString_never_prints_the_key()
    {
        using var services = Services(Valid);

        var options = services.GetRequiredService<IOptions<ProvidersOptions>>().Value;

        Assert.DoesNotContain("gemini-key-from-env", options["gemini"].ToString());
        Assert.Contains("127.0.0.1", options["gemini"].ToString());
    }

    [Theory]
    [InlineData("not a url", "Providers:gemini:BaseUrl must be an absolute http(s) URL (env Providers__gemini__BaseUrl)")]
    [InlineData("ftp://example.com", "Providers:gemini:BaseUrl must be an absolute http(s) URL (env Providers__gemini__BaseUrl)")]
    [InlineData("/v1beta", "Providers:gemini:BaseUrl must be an absolute http(s) URL (env Providers__gemini__BaseUrl)")]
    [InlineData(null, "Providers:gemini:BaseUrl must be an absolute http(s) URL (env Providers__gemini__BaseUrl)")]
    [InlineData("https://generativelanguage.googleapis.com?key=abc", "Providers:gemini:BaseUrl must not carry a query string")]
    public void Bad_base_url_names_the_key(string? baseUrl, string expected)
    {
        var failures = StartupFailures(With(("Providers:gemini:BaseUrl", baseUrl)));

        Assert.Contains(failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_kind_names_the_key_and_the_allowed_values()
    {
        var failures = StartupFailures(With(("Providers:groq:Kind", "Foo")));

        Assert.Contains("Providers:groq:Kind 'Foo' is not one of Gemini, OpenAI, Anthropic (env Providers__groq__Kind)", failures);
    }

    [Fact]
    public void Missing_kind_names_the_key()
    {
        var failures = StartupFailures(With(("Providers:groq:Kind", null)));

        Assert.Contains(failures, f => f.StartsWith("Providers:groq:Kind is required", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_key_names_the_variable_and_the_setting()
    {
        var failures = StartupFailures(With(("GEMINI_API_KEY", null)));

        Assert.Contains("Providers:gemini has no API key: set GEMINI_API_KEY or Providers__gemini__ApiKey", failures);
    }

    [Theory]
    [InlineData("00:00:00", "Providers:gemini:Timeout must be positive")]
    [InlineData("-00:00:05", "Providers:gemini:Timeout must be positive")]
    [InlineData("soon", "Providers:gemini:Timeout 'soon' is not a duration")]
    [InlineData("30", "Providers:gemini:Timeout must be at most 00:30:00")]
    public void Bad_timeout_names_the_key(string timeout, string expected)
    {
        var failures = StartupFailures(With(("Providers:gemini:Timeout", timeout)));

        Assert.Contains(failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Misspelt_setting_names_the_key()
    {
        var failures = StartupFailures(With(("Providers:gemini:BaseUri", "https://x.test")));

        Assert.Contains(failures, f => f.StartsWith("Providers:gemini:BaseUri is not a provider setting", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var failures = StartupFailures(With(("Providers:groq:Kind", "Foo"), ("Providers:gemini:BaseUrl", "nope"), ("GEMINI_API_KEY", null)));

        Assert.Equal(3, failures.Count);
    }

    [Fact]
    public void No_providers_at_all_fails_start()
    {
        var failures = StartupFailures(new Dictionary<string, string?>());

        Assert.Contains(failures, f => f.StartsWith("Providers has no providers", StringComparison.Ordinal));
    }

    [Fact]
    public void Duplicate_names_are_refused()
    {
        var a = new StubProvider("gemini");
        var b = new StubProvider("Gemini");

        Assert.Throws<ArgumentException>(() => new ProviderRegistry([a, b]));
    }

    [Fact]
    public void Provider_http_clients_get_no_timeout_and_a_large_pool_while_other_clients_are_untouched()
    {
        using var services = Services(Valid);
        var factoryOptions = services.GetRequiredService<IOptionsMonitor<HttpClientFactoryOptions>>();

        var provider = factoryOptions.Get("Providers:gemini");
        var other = factoryOptions.Get("Messaging");

        Assert.Equal(Timeout.InfiniteTimeSpan, provider.HandlerLifetime);
        Assert.NotEmpty(provider.HttpClientActions);
        Assert.Empty(other.HttpClientActions);
        var client = new HttpClient();
        foreach (var action in provider.HttpClientActions)
        {
            action(client);
        }

        Assert.Equal(Timeout.InfiniteTimeSpan, client.Timeout);
        using var handler = ProviderHttpClientSetup.CreateHandler();
        Assert.True(handler.MaxConnectionsPerServer >= 2_000);
        Assert.False(handler.AllowAutoRedirect);
        // Nothing is inflated, so no small body can expand past MaxResponseBytes.
        Assert.Equal(System.Net.DecompressionMethods.None, handler.AutomaticDecompression);
    }

    [Fact]
    public async Task Registry_providers_bound_response_bodies_by_their_configured_limit()
    {
        var stub = new StubHandler(() => JsonResponse(200, """{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP"}]}""" + new string(' ', 2_000)));
        using var services = Services(With(("Providers:gemini:MaxResponseBytes", "2048")),
            s => s.AddHttpClient("Providers:gemini").ConfigurePrimaryHttpMessageHandler(() => stub));

        var result = await services.GetRequiredService<ProviderRegistry>().Get("gemini")
            .CompleteAsync(new ProviderRequest("gemini-2.5-flash", [new ChatMessage("user", "hi")], null, null), CancellationToken.None);

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("Providers:gemini:MaxResponseBytes (2048 bytes", failure.Detail);
    }

    [Fact]
    public void Max_response_bytes_defaults_to_4_MiB()
    {
        using var services = Services(Valid);

        Assert.Equal(4 * 1024 * 1024, services.GetRequiredService<IOptions<ProvidersOptions>>().Value["groq"].MaxResponseBytes);
    }

    [Theory]
    [InlineData("4MB")]
    [InlineData("1023")]
    [InlineData("-1")]
    [InlineData("268435457")]
    public void Bad_max_response_bytes_names_the_key(string value)
    {
        var failure = Assert.Single(StartupFailures(With(("Providers:gemini:MaxResponseBytes", value))));

        Assert.Equal($"Providers:gemini:MaxResponseBytes must be a whole number of bytes from 1024 to 268435456, got '{value}' (env Providers__gemini__MaxResponseBytes)",
            failure);
    }

    [Fact]
    public async Task Registry_providers_call_through_their_named_http_client()
    {
        var stub = new StubHandler(() => JsonResponse(200, """{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP"}]}"""));
        using var services = Services(Valid, s => s.AddHttpClient("Providers:gemini").ConfigurePrimaryHttpMessageHandler(() => stub));

        var result = await services.GetRequiredService<ProviderRegistry>().Get("gemini")
            .CompleteAsync(new ProviderRequest("gemini-2.5-flash", [new ChatMessage("user", "hi")], null, null), CancellationToken.None);

        Assert.IsType<ProviderSuccess>(result);
        Assert.Equal(1, stub.Calls);
        Assert.Equal("gemini-key-from-env", stub.Last.Headers["x-goog-api-key"]);
        Assert.StartsWith("http://127.0.0.1:5080/gemini/v1beta/models/", stub.Last.Uri.AbsoluteUri);
    }

    private sealed class StubProvider(string name) : ICompletionProvider
    {
        public string Name => name;

        public Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken) =>
            Task.FromResult<ProviderResult>(new ProviderFailure(ErrorClass.Server, "stub"));
    }
}
