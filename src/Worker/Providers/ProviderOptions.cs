using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Worker.Providers;

/// <summary>The wire protocol a provider speaks.</summary>
public enum ProviderKind
{
    /// <summary>Google Gemini generateContent.</summary>
    Gemini,

    /// <summary>OpenAI Chat Completions, and any compatible API (Groq, Ollama, OpenRouter, vLLM).</summary>
    OpenAI,

    /// <summary>Anthropic Messages API (Claude).</summary>
    Anthropic,
}

/// <summary>One entry of the <c>Providers</c> section, e.g. <c>Providers__gemini__BaseUrl</c>.</summary>
public sealed class ProviderOptions
{
    public const long DefaultMaxResponseBytes = 4 * 1024 * 1024;

    /// <summary>The wire protocol: Gemini, OpenAI or Anthropic.</summary>
    [Required]
    public ProviderKind? Kind { get; set; }

    /// <summary>
    /// Root of the API. Gemini: https://generativelanguage.googleapis.com (the client adds /v1beta/...).
    /// OpenAI: https://api.openai.com/v1 (the SDK adds /chat/completions).
    /// Anthropic: https://api.anthropic.com (the SDK adds /v1/messages).
    /// </summary>
    [Required]
    public Uri? BaseUrl { get; set; }

    /// <summary>Upper bound for one call, connection to last byte. The chain may shorten it to meet a deadline.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Largest response body read from the provider, in bytes (bodies are never compressed: the worker does not ask).
    /// A bigger one fails the call (bad_output for a 2xx) without being buffered.
    /// </summary>
    public long MaxResponseBytes { get; set; } = DefaultMaxResponseBytes;

    /// <summary>The API key. Prefer leaving this empty and setting <see cref="ApiKeyVariable"/>'s variable instead.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The environment variable holding the key when <see cref="ApiKey"/> is empty. Defaults by kind: GEMINI_API_KEY, OPENAI_API_KEY, ANTHROPIC_API_KEY.</summary>
    public string? ApiKeyVariable { get; set; }

    /// <summary>
    /// An OpenAI-compatible API by name (groq, mistral, openrouter, ollama, vllm): implies Kind OpenAI, gives BaseUrl and
    /// ApiKeyVariable defaults (ollama and vllm need no key) and selects the server's quirks. Explicit settings win.
    /// </summary>
    public string? Preset { get; set; }

    /// <summary>The environment variable consulted for the key when none is configured.</summary>
    public string EffectiveApiKeyVariable =>
        string.IsNullOrWhiteSpace(ApiKeyVariable)
            ? Kind switch
            {
                ProviderKind.Gemini => "GEMINI_API_KEY",
                ProviderKind.Anthropic => "ANTHROPIC_API_KEY",
                _ => "OPENAI_API_KEY",
            }
            : ApiKeyVariable;

    /// <summary>Everything but the key, so logging or debugging an options object cannot leak it.</summary>
    public override string ToString() =>
        $"{Kind} {BaseUrl} timeout {Timeout} key {(string.IsNullOrEmpty(ApiKey) ? "unset" : "set")} via {(string.IsNullOrEmpty(ApiKeyVariable) ? "ApiKey or " + EffectiveApiKeyVariable : ApiKeyVariable)}";
}

/// <summary>The <c>Providers</c> section: provider name (case-insensitive) to its options.</summary>
public sealed class ProvidersOptions : Dictionary<string, ProviderOptions>
{
    public const string Section = "Providers";

    public ProvidersOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }

    /// <summary>
    /// The configured providers, for a validator of another section to check names against; null when the Providers
    /// section is itself invalid (it reports its own problems).
    /// </summary>
    public static ProvidersOptions? ValidOrNull(IOptions<ProvidersOptions> options)
    {
        try
        {
            return options.Value;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    /// <summary>What reading the section found wrong, each naming its key; reported by validation at start.</summary>
    internal List<string> Problems { get; } = [];
}
