/** A model's price from the flags: --price, else --prices over the built-in table. */
import { DEFAULT_PRICES, loadPriceFile, PriceError, priceFor, type Price } from '../llm/cost.ts';
import { CliError } from './exit.ts';

/** --price, else --prices over the built-in table; undefined when nobody knows the model's price. */
export function resolveModelPrice(model: string, flags: { price?: Price | undefined; prices?: string | undefined }): Price | undefined {
  if (flags.price !== undefined) return flags.price;
  try {
    return priceFor(model, flags.prices === undefined ? DEFAULT_PRICES : { ...DEFAULT_PRICES, ...loadPriceFile(flags.prices) });
  } catch (err) {
    if (err instanceof PriceError) throw new CliError(err.message);
    throw err;
  }
}
