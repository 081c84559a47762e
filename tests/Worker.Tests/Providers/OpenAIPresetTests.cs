using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.OpenAI;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

/// <summary>The Preset setting: its defaults, what overrides them, and its start-up errors.</summary>
public class OpenAIPresetTests
{
    private static ServiceProvider Services(Dictionary<string, string?> settings, Action<IServiceCollection>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging();
        services.AddProviders();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>The options after start-up validation passed (it throws otherwise).</summary>
    private static ProviderOptions Started(Dictionary<string, string?> settings, string name = "p")
    {
        using var services = Services(settings);
        services.GetRequiredService<IStartupValidator>().Validate();
        return services.GetRequiredService<IOptions<ProvidersOptions>>().Value[name];
    }

    private static IReadOnlyCollection<string> StartupFailures(Dictionary<string, string?> settings)
    {
        using var services = Services(settings);
        var thrown = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        return thrown.Failures.ToList();
    }

    [Theory]
    [InlineData("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY")]
    [InlineData("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY")]
    [InlineData("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY")]
    [InlineData("OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY")]
    public void Keyed_presets_give_kind_base_url_and_key_variable(string preset, string baseUrl, string variable)
    {
        var options = Started(new() { ["Providers:p:Preset"] = preset, [variable] = "key-from-env", ["OPENAI_API_KEY"] = "openai-key" });

        Assert.Equal(ProviderKind.OpenAI, options.Kind);
        Assert.Equal(new Uri(baseUrl), options.BaseUrl);
        Assert.Equal(variable, options.EffectiveApiKeyVariable);
        Assert.Equal("key-from-env", options.ApiKey);
        Assert.Equal(preset.ToLowerInvariant(), options.Preset);
    }

    [Theory]
    [InlineData("ollama", "http://localhost:11434/v1")]
    [InlineData("vllm", "http://localhost:8000/v1")]
    public void Keyless_presets_start_without_a_key_and_never_borrow_the_openai_one(string preset, string baseUrl)
    {
        var options = Started(new() { ["Providers:p:Preset"] = preset, ["OPENAI_API_KEY"] = "openai-key" });

        Assert.Equal(ProviderKind.OpenAI, options.Kind);
        Assert.Equal(new Uri(baseUrl), options.BaseUrl);
        Assert.Equal(OpenAICompatPresets.PlaceholderKey, options.ApiKey);
    }

    [Fact]
    public void A_keyless_preset_still_takes_a_key_that_is_configured()
    {
        Assert.Equal("vllm-secret", Started(new() { ["Providers:p:Preset"] = "vllm", ["Providers:p:ApiKey"] = "vllm-secret" }).ApiKey);
        Assert.Equal("from-var", Started(new()
        {
            ["Providers:p:Preset"] = "vllm", ["Providers:p:ApiKeyVariable"] = "VLLM_API_KEY", ["VLLM_API_KEY"] = "from-var",
        }).ApiKey);
    }

    [Fact]
    public void Explicit_settings_win_over_the_preset()
    {
        var options = Started(new()
        {
            ["Providers:p:Preset"] = "groq",
            ["Providers:p:Kind"] = "OpenAI",
            ["Providers:p:BaseUrl"] = "http://127.0.0.1:5080/groq/v1",
            ["Providers:p:ApiKeyVariable"] = "MY_GROQ_KEY",
            ["MY_GROQ_KEY"] = "mine",
            ["GROQ_API_KEY"] = "not-this-one",
        });

        Assert.Equal(new Uri("http://127.0.0.1:5080/groq/v1"), options.BaseUrl);
        Assert.Equal("MY_GROQ_KEY", options.EffectiveApiKeyVariable);
        Assert.Equal("mine", options.ApiKey);
        Assert.Equal("groq", options.Preset);
    }

    [Fact]
    public void A_keyed_preset_without_its_key_names_the_variable()
    {
        var failures = StartupFailures(new() { ["Providers:p:Preset"] = "mistral" });

        Assert.Equal("Providers:p has no API key: set MISTRAL_API_KEY or Providers__p__ApiKey", Assert.Single(failures));
    }

    [Fact]
    public void Unknown_preset_names_the_key_and_the_valid_values()
    {
        var failures = StartupFailures(new() { ["Providers:p:Preset"] = "together", ["OPENAI_API_KEY"] = "k", ["Providers:p:BaseUrl"] = "https://x.test/v1" });

        Assert.Equal("Providers:p:Preset 'together' is not one of groq, mistral, openrouter, ollama, vllm (env Providers__p__Preset)", Assert.Single(failures));
    }

    [Fact]
    public void A_preset_with_a_kind_other_than_openai_is_refused()
    {
        var failures = StartupFailures(new() { ["Providers:p:Preset"] = "ollama", ["Providers:p:Kind"] = "Gemini" });

        Assert.Contains(failures, f => f.StartsWith("Providers:p:Preset 'ollama' is an OpenAI-compatible API, but Providers:p:Kind is Gemini", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_preset_provider_calls_its_base_url_and_applies_its_quirks()
    {
        var stub = new StubHandler(() => JsonResponse(200, """
            {"id":"x","object":"chat.completion","created":1,"model":"llama3.1","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}
            """));
        using var services = Services(new() { ["Providers:local:Preset"] = "ollama" },
            s => s.AddHttpClient("Providers:local").ConfigurePrimaryHttpMessageHandler(() => stub));

        var result = await services.GetRequiredService<ProviderRegistry>().Get("local")
            .CompleteAsync(new ProviderRequest("llama3.1", [new ChatMessage("user", "hi")], 64, null), CancellationToken.None);

        Assert.IsType<ProviderSuccess>(result);
        Assert.Equal("http://localhost:11434/v1/chat/completions", stub.Last.Uri.AbsoluteUri);
        Assert.Equal($"Bearer {OpenAICompatPresets.PlaceholderKey}", stub.Last.Headers["Authorization"]);
        Assert.Contains("\"max_tokens\":64", stub.Last.Body);
    }
}
