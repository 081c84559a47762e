namespace Worker.Providers.OpenAI;

/// <summary>
/// Where an OpenAI-compatible server departs from OpenAI's Chat Completions, in one place. Each flag is set only by
/// the presets whose server was shown to need it; the source of each is cited on the preset in
/// <see cref="OpenAICompatPresets"/>. <see cref="None"/> is OpenAI itself (and any server configured without a preset).
/// </summary>
internal sealed record OpenAICompatQuirks
{
    /// <summary>Plain OpenAI behaviour.</summary>
    public static OpenAICompatQuirks None { get; } = new();

    /// <summary>
    /// Send the output cap as <c>max_tokens</c>, not <c>max_completion_tokens</c>: the server either refuses the newer
    /// field (Mistral: 422 extra_forbidden) or silently ignores it, leaving generation unbounded (Ollama).
    /// </summary>
    public bool UsesMaxTokens { get; init; }

    /// <summary>
    /// Tool call ids must be exactly nine ASCII letters or digits, in assistant <c>tool_calls</c> and in
    /// <c>tool_call_id</c> alike; ids made by other providers are mapped by <see cref="NineCharToolCallIds"/>.
    /// </summary>
    public bool NineCharToolCallIds { get; init; }

    /// <summary>
    /// The server reads no <c>tool_choice</c> at all. <c>none</c> is then honoured by sending no tools, and
    /// <c>required</c> or a named tool cannot be enforced, so such requests are refused without a call.
    /// </summary>
    public bool IgnoresToolChoice { get; init; }
}

/// <summary>A named set of defaults for an OpenAI-compatible API (<c>Providers:NAME:Preset</c>).</summary>
/// <param name="Name">The value of the Preset setting, lower case.</param>
/// <param name="BaseUrl">Used when BaseUrl is not configured.</param>
/// <param name="ApiKeyVariable">The environment variable holding the key when neither ApiKey nor ApiKeyVariable is
/// configured; null for a server that needs no key (a local one).</param>
/// <param name="Quirks">What the provider must do differently when talking to this server.</param>
internal sealed record OpenAICompatPreset(string Name, Uri BaseUrl, string? ApiKeyVariable, OpenAICompatQuirks Quirks)
{
    /// <summary>Whether a key must be configured; a keyless server gets <see cref="OpenAICompatPresets.PlaceholderKey"/>.</summary>
    public bool NeedsKey => ApiKeyVariable is not null;
}

/// <summary>The presets for OpenAI-compatible APIs, each with the quirks it was shown to need.</summary>
internal static class OpenAICompatPresets
{
    /// <summary>
    /// Sent as the bearer token to keyless servers: the SDK refuses an empty key, and Ollama and vLLM (started without
    /// --api-key) ignore whatever is sent. Long and odd on purpose, since failure details redact the key's text.
    /// </summary>
    public const string PlaceholderKey = "keyless-local-server";

    public static readonly IReadOnlyList<OpenAICompatPreset> All =
    [
        // Groq takes OpenAI's tools format (https://console.groq.com/docs/tool-use/overview) and json_schema, strict
        // only on some models (https://console.groq.com/docs/structured-outputs): no quirk found that needs adapting.
        new("groq", new Uri("https://api.groq.com/openai/v1"), "GROQ_API_KEY", OpenAICompatQuirks.None),

        new("mistral", new Uri("https://api.mistral.ai/v1"), "MISTRAL_API_KEY", new OpenAICompatQuirks
        {
            // 422 extra_forbidden on max_completion_tokens: https://github.com/editor-code-assistant/eca/issues/231
            // and https://github.com/Gitlawb/openclaude/issues/739.
            UsesMaxTokens = true,
            // "Tool call id was X but must be a-z, A-Z, 0-9, with a length of 9.":
            // https://github.com/langchain-ai/langchain/pull/24668
            NineCharToolCallIds = true,
            // tool_choice "required" needs no mapping to "any": Mistral's API accepts auto, none, any and required
            // (https://docs.rs/crate/mistral-openapi-client/latest/source/src/models/tool_choice_enum.rs).
        }),

        // OpenRouter speaks OpenAI's dialect and normalises finish_reason across models
        // (https://openrouter.ai/announcements/standardized-finish-reasons); its HTTP-Referer and X-Title headers
        // are optional attribution only (https://openrouter.ai/docs/app-attribution).
        new("openrouter", new Uri("https://openrouter.ai/api/v1"), "OPENROUTER_API_KEY", OpenAICompatQuirks.None),

        new("ollama", new Uri("http://localhost:11434/v1"), null, new OpenAICompatQuirks
        {
            // Ollama's ChatCompletionRequest (openai/openai.go) has max_tokens, tool_choice absent, and
            // max_completion_tokens ignored: https://github.com/ollama/ollama/issues/7125 (open).
            // It maps response_format json_schema to its own format, so that needs nothing.
            UsesMaxTokens = true,
            IgnoresToolChoice = true,
        }),

        // vLLM supports named, auto, required (>= 0.8.3) and none tool choices (https://docs.vllm.ai/en/latest/features/tool_calling/);
        // "auto" needs the server started with --enable-auto-tool-choice and --tool-call-parser, which no request can fix.
        new("vllm", new Uri("http://localhost:8000/v1"), null, OpenAICompatQuirks.None),
    ];

    /// <summary>The valid Preset values, for configuration errors.</summary>
    public static string Names => string.Join(", ", All.Select(p => p.Name));

    /// <summary>The preset named <paramref name="name"/> (case-insensitive), or null.</summary>
    public static OpenAICompatPreset? Find(string? name) =>
        name is null ? null : All.FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The quirks for a configured preset; <see cref="OpenAICompatQuirks.None"/> without one.</summary>
    public static OpenAICompatQuirks QuirksOf(string? preset) => Find(preset)?.Quirks ?? OpenAICompatQuirks.None;
}
