using Microsoft.Extensions.Options;

namespace Worker.Structured;

/// <summary>What one model can do. Null fields are unknown, and an unknown capability is never a reason to skip a step.</summary>
/// <param name="Tools">Function/tool calling.</param>
/// <param name="JsonSchema">Decoding constrained to a JSON schema (OpenAI <c>json_schema</c>, Gemini <c>responseSchema</c>, Anthropic
/// via a forced tool).</param>
/// <param name="Vision">Image input. Kept in the table for the contract's image parts to come; no request field uses it yet.</param>
/// <param name="ContextWindow">Prompt plus output, in tokens.</param>
/// <param name="MaxOutputTokens">The most the model writes in one answer.</param>
public sealed record ModelCapability(bool? Tools, bool? JsonSchema, bool? Vision, int? ContextWindow, int? MaxOutputTokens);

/// <summary>
/// The <c>Capabilities</c> section: model name to what it can do, e.g. <c>Capabilities:my-local-model:Tools=false</c> or
/// <c>Capabilities__my-local-model__ContextWindow=8192</c>. A colon cannot be part of a configuration key, so a model named
/// with one (Ollama's <c>llama3.1:8b</c>) is configured with <c>_</c> in its place (<c>Capabilities:llama3.1_8b</c>). Each field set here replaces the built-in value of
/// <see cref="CapabilityTable"/> for that model; fields left out keep it.
/// </summary>
public sealed class CapabilitiesOptions : Dictionary<string, CapabilityOptions>
{
    public const string Section = "Capabilities";

    public CapabilitiesOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>One model's entry of <see cref="CapabilitiesOptions"/>.</summary>
public sealed class CapabilityOptions
{
    public bool? Tools { get; set; }

    public bool? JsonSchema { get; set; }

    public bool? Vision { get; set; }

    public int? ContextWindow { get; set; }

    public int? MaxOutputTokens { get; set; }
}

/// <summary>
/// What each model can do: the built-in figures of well-known model families (from the providers' model pages), with the
/// <c>Capabilities</c> section on top. A model the table does not know is assumed able to do everything, with no window:
/// the provider's answer then decides, as it did before the table existed.
/// </summary>
public sealed class CapabilityTable(IOptions<CapabilitiesOptions> options)
{
    // Longest prefix wins, so "gpt-4o-mini" can differ from "gpt-4o" when it must. Figures as published by the providers
    // (Google AI model pages, OpenAI model pages, Anthropic models overview, Groq and Mistral model cards) in 2025-2026.
    private static readonly (string Prefix, ModelCapability Capability)[] BuiltIn =
    [
        ("gemini-2.5", new(true, true, true, 1_048_576, 65_536)),
        ("gemini-3", new(true, true, true, 1_048_576, 65_536)),
        ("gemini-2.0-flash", new(true, true, true, 1_048_576, 8_192)),
        ("gemini-1.5", new(true, true, true, 1_048_576, 8_192)),
        ("gpt-4o", new(true, true, true, 128_000, 16_384)),
        ("gpt-4.1", new(true, true, true, 1_047_576, 32_768)),
        ("gpt-5", new(true, true, true, 400_000, 128_000)),
        ("o3", new(true, true, true, 200_000, 100_000)),
        ("o4-mini", new(true, true, true, 200_000, 100_000)),
        ("gpt-3.5-turbo", new(true, false, false, 16_385, 4_096)),
        ("claude-opus-4", new(true, true, true, 200_000, 32_000)),
        ("claude-sonnet-4", new(true, true, true, 200_000, 64_000)),
        ("claude-haiku-4", new(true, true, true, 200_000, 64_000)),
        ("claude-3-5-haiku", new(true, true, true, 200_000, 8_192)),
        ("claude-3-7-sonnet", new(true, true, true, 200_000, 64_000)),
        ("llama-3.3-70b-versatile", new(true, false, false, 131_072, 32_768)),
        ("llama-3.1-8b-instant", new(true, false, false, 131_072, 131_072)),
        ("mistral-large", new(true, true, false, 131_072, null)),
        ("mistral-small", new(true, true, true, 131_072, null)),
    ];

    private static readonly ModelCapability Unknown = new(null, null, null, null, null);

    // Asked before every step of every request: each model's answer is worked out once (the options do not change).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ModelCapability> _resolved = new(StringComparer.Ordinal);

    /// <summary>
    /// Why <paramref name="model"/> cannot serve <paramref name="request"/>, as the note of the skipped step (<c>skipped: no tool
    /// support</c>, <c>skipped: context window</c>...), or null when it can (or the table does not know).
    /// </summary>
    public string? Refusal(string model, Worker.Contracts.CompletionRequested request)
    {
        var capability = For(model);
        if (capability.Tools == false && NeedsTools(request))
            return NoToolSupport;
        if (capability.JsonSchema == false && request.ResponseFormat?.Type == Worker.Contracts.ResponseFormatTypes.JsonSchema)
            return NoJsonSchemaSupport;
        if (capability.ContextWindow is { } window)
        {
            // The output the call may write counts against the window too; a request without a cap is judged by its prompt.
            var output = request.MaxOutputTokens is { } max ? Math.Min(max, capability.MaxOutputTokens ?? max) : 0;
            var prompt = PromptEstimate.Tokens(request);
            if ((long)prompt + output > window)
                return $"{ContextWindowSkip} (about {prompt} prompt + {output} output tokens, window {window})";
        }

        return null;
    }

    /// <summary>The request's maxOutputTokens, lowered to what <paramref name="model"/> can write (it is an upper bound).</summary>
    public int? MaxOutputFor(string model, int? requested) =>
        requested is { } max && For(model).MaxOutputTokens is { } limit && max > limit ? limit : requested;

    /// <summary>A request needs tool support when it offers tools (not switched off) or carries tool turns.</summary>
    public static bool NeedsTools(Worker.Contracts.CompletionRequested request) =>
        (request.Tools is { Count: > 0 } && request.ToolChoice?.Mode != Worker.Contracts.ToolChoiceModes.None)
        || request.Messages.Any(m => m.ToolCalls is { Count: > 0 } || m.Role == Worker.Contracts.ChatRoles.Tool);

    /// <summary>The note of a step skipped because its model cannot call tools.</summary>
    public const string NoToolSupport = "skipped: no tool support";

    /// <summary>The note of a step skipped because its model cannot decode to a JSON schema.</summary>
    public const string NoJsonSchemaSupport = "skipped: no json schema support";

    /// <summary>The start of the note of a step skipped because the prompt does not fit its model's context window.</summary>
    public const string ContextWindowSkip = "skipped: context window";

    /// <summary>What <paramref name="model"/> can do. Router prefixes such as OpenRouter's <c>openai/gpt-4o</c> are looked through.</summary>
    public ModelCapability For(string model) => _resolved.GetOrAdd(model, Resolve);

    private ModelCapability Resolve(string model)
    {
        var id = model[(model.LastIndexOf('/') + 1)..];
        if (id.StartsWith("models/", StringComparison.Ordinal))
            id = id["models/".Length..];
        var builtIn = BuiltIn.Where(b => id.StartsWith(b.Prefix, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(b => b.Prefix.Length).Select(b => b.Capability).FirstOrDefault() ?? Unknown;
        if (!options.Value.TryGetValue(model.Replace(':', '_'), out var configured) && !options.Value.TryGetValue(id.Replace(':', '_'), out configured))
            return builtIn;
        return new ModelCapability(
            configured.Tools ?? builtIn.Tools,
            configured.JsonSchema ?? builtIn.JsonSchema,
            configured.Vision ?? builtIn.Vision,
            configured.ContextWindow ?? builtIn.ContextWindow,
            configured.MaxOutputTokens ?? builtIn.MaxOutputTokens);
    }
}

/// <summary>Checks the <c>Capabilities</c> section at start; every message names the key to fix.</summary>
public sealed class CapabilitiesOptionsValidator : IValidateOptions<CapabilitiesOptions>
{
    public ValidateOptionsResult Validate(string? name, CapabilitiesOptions options)
    {
        var errors = new List<string>();
        foreach (var (model, entry) in options)
        {
            if (entry is null)
            {
                errors.Add($"{CapabilitiesOptions.Section}:{model} is empty; set Tools, JsonSchema, Vision, ContextWindow or MaxOutputTokens");
                continue;
            }

            if (entry.ContextWindow is < 1)
                errors.Add($"{CapabilitiesOptions.Section}:{model}:ContextWindow must be 1 or more, was {entry.ContextWindow}");
            if (entry.MaxOutputTokens is < 1)
                errors.Add($"{CapabilitiesOptions.Section}:{model}:MaxOutputTokens must be 1 or more, was {entry.MaxOutputTokens}");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
