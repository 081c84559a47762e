using System.Diagnostics.CodeAnalysis;

namespace Worker.Providers;

/// <summary>The configured providers by name (case-insensitive), one instance each for the life of the worker.</summary>
public sealed class ProviderRegistry : IProviderRegistry
{
    private readonly Dictionary<string, ICompletionProvider> _providers = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _names = [];

    public ProviderRegistry(IEnumerable<ICompletionProvider> providers)
    {
        foreach (var provider in providers)
        {
            if (!_providers.TryAdd(provider.Name, provider))
            {
                throw new ArgumentException($"Two providers are named '{provider.Name}' (names are case-insensitive).", nameof(providers));
            }

            _names.Add(provider.Name);
        }
    }

    /// <summary>The configured names, in configuration order.</summary>
    public IReadOnlyCollection<string> Names => _names;

    /// <exception cref="KeyNotFoundException">No provider has that name.</exception>
    public ICompletionProvider Get(string name) =>
        TryGet(name, out var provider)
            ? provider
            : throw new KeyNotFoundException($"No provider named '{name}'; configured: {string.Join(", ", _names)}.");

    public bool TryGet(string name, [NotNullWhen(true)] out ICompletionProvider? provider) =>
        _providers.TryGetValue(name, out provider);
}
