/**
 * A prediction in a few words, for the host's own surfaces (side view, status bar, logs, notifications): the label
 * (or what the model found), its probability where it has one, and the rows a list shows under it.
 */
import * as vscode from 'vscode';
import { headlineOf, predictionRowsOf, type Prediction } from '../shared/analysis';

export interface PredictionLines {
  label: string;
  probability?: number;
  rows: Array<{ label: string; probability: number }>;
}

export function predictionLines(prediction: Prediction): PredictionLines {
  const headline = headlineOf(prediction);
  const rows = predictionRowsOf(prediction);
  switch (prediction.task) {
    case 'text-classification':
      return { ...headline!, rows };
    case 'token-classification':
      return { label: prediction.entities.length > 0 ? headline!.label : vscode.l10n.t('no entities'), rows };
    case 'fill-mask':
      return headline ? { ...headline, rows } : { label: vscode.l10n.t('no mask token'), rows };
    case 'feature-extraction':
      return { label: vscode.l10n.t('embedding of {0} dimensions, norm {1}', prediction.dimensions, prediction.norm.toFixed(3)), rows };
    case 'text-generation':
      return headline
        ? { label: vscode.l10n.t('next: {0}', JSON.stringify(headline.label)), probability: headline.probability!, rows }
        : { label: vscode.l10n.t('no next token'), rows };
    case 'none':
      return { label: vscode.l10n.t('attention only (from a file or a notebook)'), rows };
  }
}
